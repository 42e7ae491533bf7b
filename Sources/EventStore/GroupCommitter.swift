import Foundation

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
    /// Merges of the unindexed tail into the `streams` and `requests` indexes.
    public var indexMerges: UInt64 = 0
    /// Seconds those merges took.
    public var mergeSeconds: Double = 0
    /// Merges that failed (the tail then stays unindexed until the next one succeeds).
    public var failedMerges: UInt64 = 0

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
        let waiter: Waiter

        /// Who hears the outcome: the appender's continuation (every append; no closure is
        /// allocated for it), or a slot of a restore's results.
        enum Waiter {
            case append(CheckedContinuation<AppendResult, any Error>)
            case restore(RestoreResults, index: Int)
        }

        func complete(_ outcome: Result<AppendResult, any Error>) {
            switch waiter {
            case .append(let continuation): continuation.resume(with: outcome)
            case .restore(let results, let index): results.record(index, outcome)
            }
        }
    }

    private let environment: LMDBEnvironment
    private let databases: LogDatabases
    private let options: StoreOptions
    private let headWatch: HeadWatch
    private let condition = NSCondition()
    private var queue: [Pending] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let stats = Locked(CommitStatistics())
    // Touched only on the writer thread (and in init, before that thread starts).
    private var tail: WriterTail
    /// The environment's opening the tail was read in; a reopening after MDB_PANIC may have
    /// kept or dropped the commit that failed, so the tail is read again.
    private var tailGeneration: UInt64

    init(environment: LMDBEnvironment, databases: LogDatabases, options: StoreOptions, headWatch: HeadWatch) throws {
        self.environment = environment
        self.databases = databases
        self.options = options
        self.headWatch = headWatch
        (tail, tailGeneration) = try environment.read { (try WriterTail.load($0, databases), $0.generation) }
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
        queue.append(Pending(request: request, waiter: .append(continuation)))
        condition.signal()
        condition.unlock()
    }

    /// Queues `requests` together and in this order (nothing else can come between them);
    /// `results` hears each, by its index, once its commit is durable or it was refused.
    func submit(_ requests: [AppendRequest], _ results: RestoreResults) {
        condition.lock()
        if stopping {
            condition.unlock()
            for index in requests.indices { results.record(index, .failure(StoreError.closed)) }
            return
        }
        for (index, request) in requests.enumerated() {
            queue.append(Pending(request: request, waiter: .restore(results, index: index)))
        }
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
            if tail.events >= options.indexMergeThreshold { mergeIndexes() }
        }
        // Leave the log fully indexed for whoever opens it next (offline tools scan less).
        if tail.events > 0 { mergeIndexes() }
        finished.signal()
    }

    private func process(_ batch: [Pending]) {
        var written: BatchOutcome
        var encodeSeconds = 0.0
        let started = ContinuousClock.now
        while true {
            do {
                written = try environment.write { txn in
                    try refreshTail(txn)
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
        // Only now, after the commit, does the writer's picture of the tail include the batch.
        tail.events += written.events
        tail.streamVersions.merge(written.streamVersions) { _, new in new }
        tail.requests.merge(written.requestResults) { _, new in new }
        if written.events > 0 { headWatch.publish(written.head) }
        for (pending, outcome) in zip(batch, written.outcomes) {
            pending.complete(outcome.mapError { $0 as any Error })
        }
    }

    /// Reads the tail again when the environment was reopened since it was last read, and lets
    /// subscribers see any events the reading finds that they were not told of.
    private func refreshTail(_ txn: LMDBTransaction) throws {
        guard txn.generation != tailGeneration else { return }
        tail = try WriterTail.load(txn, databases)
        tailGeneration = txn.generation
        headWatch.publish(try LogTail.read(txn, databases).position)
    }

    private func fail(_ batch: [Pending], _ error: StoreError) {
        for pending in batch { pending.complete(.failure(error)) }
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

    /// What one write transaction did: an outcome per request, the new head, how many events it
    /// holds, and the stream versions and request results it created.
    private struct BatchOutcome {
        var outcomes: [Result<AppendResult, StoreError>] = []
        var head: Position = 0
        var events = 0
        var streamVersions: [StreamName: StreamVersion] = [:]
        var requestResults: [String: AppendResult] = [:]
    }

    /// Writes the index entries of the unindexed tail in one transaction, sorted, so each index
    /// page is written once for the whole tail; then moves `meta/indexed` to the head.
    ///
    /// On failure nothing changes: the tail stays unindexed (still correct, only slower to
    /// search) and the next merge tries again.
    private func mergeIndexes() {
        let started = ContinuousClock.now
        while true {
            do {
                let indexed = try environment.write { txn -> Position in
                    try refreshTail(txn)
                    // Group the tail by stream: each stream's tail events have consecutive versions,
                    // so sorting stream names gives the index's key order without sorting every entry.
                    var byStream: [StreamName: (firstVersion: StreamVersion, positions: [Position])] = [:]
                    var head = tail.indexedThrough
                    try UnindexedTail.scan(txn, databases, after: tail.indexedThrough) {
                        position, stream, version, _, _ in
                        let name = StreamName(rawValue: String(decoding: stream, as: UTF8.self))
                        byStream[name, default: (version, [])].positions.append(position)
                        head = position
                    }
                    var key = [UInt8]()
                    for name in byStream.keys.sorted(by: {
                        $0.rawValue.utf8.lexicographicallyPrecedes($1.rawValue.utf8)
                    }) {
                        let entries = byStream[name]!
                        for (offset, position) in entries.positions.enumerated() {
                            IndexKeys.streamEntry(name, entries.firstVersion + UInt64(offset), into: &key)
                            try txn.put(databases.streams, key: key, value: IndexKeys.position(position))
                        }
                    }
                    for (id, result) in tail.requests.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
                    {
                        try txn.put(databases.requests, key: Array(id.utf8), value: IndexKeys.encode(result))
                    }
                    try txn.put(databases.meta, key: UnindexedTail.indexedKey, value: IndexKeys.position(head))
                    return head
                }
                // Stream versions stay useful as a cache (every one is now also in the index);
                // it is only dropped when it grows large.
                tail.indexedThrough = indexed
                tail.events = 0
                tail.requests.removeAll(keepingCapacity: true)
                if tail.streamVersions.count > options.streamVersionCacheLimit { tail.streamVersions.removeAll() }
                let seconds = (ContinuousClock.now - started).seconds
                stats.withLock {
                    $0.indexMerges += 1
                    $0.mergeSeconds += seconds
                }
                return
            } catch let error as LMDBError where error.isMapFull {
                do { try growMap() } catch { return noteMergeFailure() }
            } catch {
                return noteMergeFailure()
            }
        }
    }

    private func noteMergeFailure() {
        stats.withLock { $0.failedMerges += 1 }
    }

    /// Decides every request of the batch in order and writes the accepted ones.
    ///
    /// Requests are checked completely (idempotency, expected versions) before any of their
    /// events is written, so a refused request leaves nothing behind in the shared transaction.
    private func write(_ requests: [AppendRequest], in txn: LMDBTransaction) throws -> BatchOutcome {
        let logTail = try LogTail.read(txn, databases)
        var batch = BatchWriter(
            txn: txn, databases: databases, tail: tail, logTail: logTail,
            recordedAt: max(options.clock(), logTail.recordedAt))
        var outcome = BatchOutcome()
        outcome.outcomes.reserveCapacity(requests.count)
        for request in requests {
            if let requestId = request.requestId, let earlier = try batch.earlierResult(of: requestId) {
                outcome.outcomes.append(BatchWriter.retry(request, of: earlier, requestId: requestId))
                continue
            }
            switch try batch.currentVersions(for: request) {
            case .failure(let refusal):
                outcome.outcomes.append(.failure(refusal))
            case .success(let current):
                outcome.outcomes.append(.success(try batch.append(request, at: current)))
            }
        }
        if batch.newStreams > 0 {
            let streams = try LogTail.streamCount(txn, databases) + batch.newStreams
            try txn.put(databases.meta, key: LogTail.streamsKey, value: IndexKeys.integer(streams))
        }
        outcome.head = batch.position
        outcome.events = Int(logTail.position.distance(to: batch.position))
        outcome.streamVersions = batch.streamVersions
        outcome.requestResults = batch.requestResults
        return outcome
    }
}

/// One batch of appends inside the shared write transaction: the log's head as the batch moves
/// it, and what the batch has written so far, which later requests of the batch must see.
private struct BatchWriter {
    let txn: LMDBTransaction
    let databases: LogDatabases
    // Local copies (reference-counted, not copied) spare a dynamic exclusivity check on the
    // committer's stored property for every request.
    let knownVersions: [StreamName: StreamVersion]
    let knownRequests: [String: AppendResult]
    let recordedAt: Timestamp
    var position: Position
    var prevHash: EventHash
    var streamVersions: [StreamName: StreamVersion] = [:]
    var requestResults: [String: AppendResult] = [:]
    var newStreams: UInt64 = 0
    var buffer = [UInt8]()

    init(txn: LMDBTransaction, databases: LogDatabases, tail: WriterTail, logTail: LogTail, recordedAt: Timestamp) {
        self.txn = txn
        self.databases = databases
        knownVersions = tail.streamVersions
        knownRequests = tail.requests
        self.recordedAt = recordedAt
        position = logTail.position
        prevHash = logTail.hash
        buffer.reserveCapacity(1024)
    }

    /// The first result of `requestId`, from this batch, the unindexed tail or the index.
    func earlierResult(of requestId: String) throws -> AppendResult? {
        try requestResults[requestId] ?? knownRequests[requestId]
            ?? txn.withValue(databases.requests, key: Array(requestId.utf8)) { $0.flatMap(IndexKeys.decodeResult) }
    }

    /// A retry gets the first result back; the same id on other streams is refused.
    static func retry(
        _ request: AppendRequest, of earlier: AppendResult, requestId: String
    ) -> Result<AppendResult, StoreError> {
        let firstStreams = earlier.streams.map(\.stream)
        guard Set(firstStreams) == Set(request.appends.map(\.stream)) else {
            return .failure(.duplicateRequestID(requestId: requestId, firstStreams: firstStreams))
        }
        var first = earlier
        first.duplicate = true
        return .success(first)
    }

    /// The version of `stream`: written by this batch or since the last merge (in memory), else
    /// complete in the index.
    func version(of stream: StreamName) throws -> StreamVersion {
        try streamVersions[stream] ?? knownVersions[stream] ?? LogTail.streamVersion(stream, txn, databases)
    }

    /// The current version of each stream `request` appends to, or why it is refused: a stream or
    /// a condition not at the version the request expects.
    func currentVersions(for request: AppendRequest) throws -> Result<[StreamVersion], StoreError> {
        var current: [StreamVersion] = []
        for append in request.appends {
            let version = try version(of: append.stream)
            guard append.expected.accepts(version) else {
                return .failure(
                    .wrongExpectedVersion(stream: append.stream, expected: append.expected, actual: version))
            }
            current.append(version)
        }
        for condition in request.conditions {
            let version = try version(of: condition.stream)
            guard condition.expected.accepts(version) else {
                return .failure(
                    .wrongExpectedVersion(stream: condition.stream, expected: condition.expected, actual: version))
            }
        }
        return .success(current)
    }

    /// Writes the events of an accepted request, chaining each onto the one before.
    mutating func append(_ request: AppendRequest, at current: [StreamVersion]) throws -> AppendResult {
        var results: [StreamAppendResult] = []
        for (append, startVersion) in zip(request.appends, current) {
            var version = startVersion
            let firstPosition = position + 1
            if startVersion == 0 { newStreams += 1 }
            for event in append.events {
                position += 1
                version += 1
                let envelope = EventCodec.Envelope(
                    position: position, version: version, recordedAt: request.recordedAt ?? recordedAt, stream: append.stream,
                    actor: request.actor, requestId: request.requestId, correlationId: request.correlationId,
                    causationId: request.causationId, prevHash: prevHash)
                prevHash = EventCodec.encode(event, envelope, into: &buffer)
                // Only the event itself is written now; its index entries follow in the next merge.
                try withUnsafeBytes(of: position.rawValue.bigEndian) { positionBytes in
                    try buffer.withUnsafeBytes { value in
                        try txn.put(databases.events, key: positionBytes, value: value, append: true)
                    }
                }
            }
            streamVersions[append.stream] = version
            results.append(
                StreamAppendResult(
                    stream: append.stream, firstVersion: startVersion + 1, lastVersion: version,
                    firstPosition: firstPosition, lastPosition: position))
        }
        let result = AppendResult(streams: results, recordedAt: request.recordedAt ?? recordedAt, duplicate: false)
        if let requestId = request.requestId { requestResults[requestId] = result }
        return result
    }
}
