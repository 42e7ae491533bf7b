import Foundation
import Synchronization

/// Counters of the writer, for status reports and the benchmark's events-per-commit figure.
public struct CommitStatistics: Sendable, Equatable {
    /// Durable write transactions committed.
    public var commits: UInt64 = 0
    /// Events written by those commits.
    public var events: UInt64 = 0
    /// Append requests that wrote events.
    public var requests: UInt64 = 0
    /// Requests answered from the idempotency index without writing.
    public var duplicates: UInt64 = 0
    /// Requests refused because a stream was not at the expected version.
    public var conflicts: UInt64 = 0
    /// Times the memory map was grown.
    public var mapGrowths: UInt64 = 0
    /// Seconds spent deciding and encoding batches inside write transactions.
    public var encodeSeconds: Double = 0
    /// Seconds spent committing them: writing pages and fsync.
    public var commitSeconds: Double = 0

    /// The mean number of events per durable commit.
    public var eventsPerCommit: Double { commits == 0 ? 0 : Double(events) / Double(commits) }
}

/// Owns the only LMDB write transaction; batches every waiting append into one durable commit.
///
/// Runs on a dedicated thread because an LMDB write transaction belongs to the thread that
/// began it and a commit blocks in fsync, which must not hold a thread of Swift's cooperative pool.
/// Every append waiting when a commit starts joins the next one, so under load one fsync
/// serves many callers; each caller resumes only after the commit that holds its events returned.
final class GroupCommitter: @unchecked Sendable {
    // Safe to share: `queue` and `stopping` are only touched with `condition` locked;
    // everything else is immutable or itself thread-safe.
    private struct Pending {
        let request: AppendRequest
        let continuation: CheckedContinuation<AppendResult, any Error>
    }

    private let environment: LMDBEnvironment
    private let databases: LogDatabases
    private let options: StoreOptions
    private let headWatch: HeadWatch
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let stats = Mutex(CommitStatistics())

    init(environment: LMDBEnvironment, databases: LogDatabases, options: StoreOptions, headWatch: HeadWatch) {
        self.environment = environment
        self.databases = databases
        self.options = options
        self.headWatch = headWatch
        let thread = Thread { [self] in run() }
        thread.name = "crmd-group-commit"
        thread.start()
    }

    /// A snapshot of the counters.
    var statistics: CommitStatistics { stats.withLock { $0 } }

    /// Queues `request`; `continuation` resumes once its commit is durable or it was refused.
    func submit(_ request: AppendRequest, _ continuation: CheckedContinuation<AppendResult, any Error>) {
        condition.lock()
        if stopping {
            condition.unlock()
            continuation.resume(throwing: StoreError.closed)
            return
        }
        queue.append(Pending(request: request, continuation: continuation))
        condition.signal()
        condition.unlock()
    }

    /// Commits everything already queued, refuses later appends, and returns when the thread has ended.
    func stop() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.broadcast()
        condition.unlock()
        if first { finished.wait() }
    }

    private func run() {
        while true {
            condition.lock()
            while queue.isEmpty && !stopping { condition.wait() }
            if queue.isEmpty {
                condition.unlock()
                break
            }
            let batch: [Pending]
            if queue.count <= options.maxRequestsPerCommit {
                batch = queue
                queue.removeAll(keepingCapacity: true)
            } else {
                batch = Array(queue.prefix(options.maxRequestsPerCommit))
                queue.removeFirst(options.maxRequestsPerCommit)
            }
            condition.unlock()
            process(batch)
        }
        finished.signal()
    }

    private func process(_ batch: [Pending]) {
        var written: BatchOutcome
        var encodeSeconds = 0.0
        let started = ContinuousClock.now
        while true {
            do {
                written = try environment.write { txn in
                    let outcome = try write(batch.map(\.request), in: txn)
                    encodeSeconds = (ContinuousClock.now - started).seconds
                    return outcome
                }
                break
            } catch let error as LMDBError where error.isMapFull {
                do {
                    try growMap()
                } catch {
                    return fail(batch, StoreError.wrap(error))
                }
            } catch {
                return fail(batch, StoreError.wrap(error))
            }
        }
        let totalSeconds = (ContinuousClock.now - started).seconds
        stats.withLock { stats in
            stats.encodeSeconds += encodeSeconds
            stats.commitSeconds += totalSeconds - encodeSeconds
            stats.commits += written.events > 0 ? 1 : 0
            stats.events += UInt64(written.events)
            for outcome in written.outcomes {
                switch outcome {
                case .success(let result): if result.duplicate { stats.duplicates += 1 } else { stats.requests += 1 }
                case .failure(.wrongExpectedVersion): stats.conflicts += 1
                case .failure: break
                }
            }
        }
        if written.events > 0 { headWatch.publish(written.head) }
        for (pending, outcome) in zip(batch, written.outcomes) {
            pending.continuation.resume(with: outcome.mapError { $0 as any Error })
        }
    }

    private func fail(_ batch: [Pending], _ error: StoreError) {
        for pending in batch { pending.continuation.resume(throwing: error) }
    }

    private func growMap() throws {
        let current = environment.info().mapSize
        guard current < options.maxMapSize else { throw StoreError.mapFull(mapSize: current) }
        // Doubling keeps growths rare for small logs; past 1 GiB, fixed steps avoid reserving
        // address space (and, on some file systems, disk) the log will not use for years.
        let step = min(current, 1 << 30)
        try environment.setMapSize(min(current + step, options.maxMapSize))
        stats.withLock { $0.mapGrowths += 1 }
    }

    /// What one write transaction did: an outcome per request, the new head and how many events it holds.
    private struct BatchOutcome {
        var outcomes: [Result<AppendResult, StoreError>] = []
        var head: Position = 0
        var events = 0
    }

    /// Decides every request of the batch in order and writes the accepted ones.
    ///
    /// Requests are checked completely (idempotency, expected versions) before any of their
    /// events is written, so a refused request leaves nothing behind in the shared transaction.
    private func write(_ requests: [AppendRequest], in txn: LMDBTransaction) throws -> BatchOutcome {
        let tail = try LogTail.read(txn, databases)
        var position = tail.position
        var prevHash = tail.hash
        let recordedAt = max(options.clock(), tail.recordedAt)
        var streamVersions: [String: StreamVersion] = [:]
        var requestResults: [String: AppendResult] = [:]
        var buffer = [UInt8]()
        buffer.reserveCapacity(1024)
        var streamKey = [UInt8]()
        streamKey.reserveCapacity(64)
        var newStreams: UInt64 = 0
        var outcome = BatchOutcome()
        outcome.outcomes.reserveCapacity(requests.count)

        for request in requests {
            if let requestId = request.requestId {
                let earlier = try requestResults[requestId]
                    ?? txn.withValue(databases.requests, key: Array(requestId.utf8)) { $0.flatMap(IndexKeys.decodeResult) }
                if var earlier {
                    let firstStreams = earlier.streams.map(\.stream)
                    if Set(firstStreams) == Set(request.appends.map(\.stream)) {
                        earlier.duplicate = true
                        outcome.outcomes.append(.success(earlier))
                    } else {
                        outcome.outcomes.append(.failure(.duplicateRequestID(requestId: requestId, firstStreams: firstStreams)))
                    }
                    continue
                }
            }

            var current: [StreamVersion] = []
            var refusal: StoreError?
            for append in request.appends {
                let version = try streamVersions[append.stream] ?? LogTail.streamVersion(append.stream, txn, databases)
                guard append.expected.accepts(version) else {
                    refusal = .wrongExpectedVersion(stream: append.stream, expected: append.expected, actual: version)
                    break
                }
                current.append(version)
            }
            if let refusal {
                outcome.outcomes.append(.failure(refusal))
                continue
            }

            var results: [StreamAppendResult] = []
            for (append, startVersion) in zip(request.appends, current) {
                var version = startVersion
                let firstPosition = position + 1
                if startVersion == 0 { newStreams += 1 }
                for event in append.events {
                    position += 1
                    version += 1
                    let envelope = EventCodec.Envelope(
                        position: position, version: version, recordedAt: recordedAt, stream: append.stream,
                        actor: request.actor, requestId: request.requestId, correlationId: request.correlationId,
                        causationId: request.causationId, prevHash: prevHash)
                    prevHash = EventCodec.encode(event, envelope, into: &buffer)
                    try withUnsafeBytes(of: position.bigEndian) { positionBytes in
                        try buffer.withUnsafeBytes { value in
                            try txn.put(databases.events, key: positionBytes, value: value, append: true)
                        }
                        IndexKeys.streamEntry(append.stream, version, into: &streamKey)
                        try streamKey.withUnsafeBytes { key in try txn.put(databases.streams, key: key, value: positionBytes) }
                    }
                }
                streamVersions[append.stream] = version
                results.append(StreamAppendResult(stream: append.stream, firstVersion: startVersion + 1, lastVersion: version,
                                                  firstPosition: firstPosition, lastPosition: position))
            }
            let result = AppendResult(streams: results, recordedAt: recordedAt, duplicate: false)
            if let requestId = request.requestId {
                try txn.put(databases.requests, key: Array(requestId.utf8), value: IndexKeys.encode(result))
                requestResults[requestId] = result
            }
            outcome.outcomes.append(.success(result))
        }
        if newStreams > 0 {
            let streams = try LogTail.streamCount(txn, databases) + newStreams
            try txn.put(databases.meta, key: LogTail.streamsKey, value: IndexKeys.integer(streams))
        }
        outcome.head = position
        outcome.events = Int(position - tail.position)
        return outcome
    }
}

extension Duration {
    /// The duration in seconds, as a floating-point number.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
