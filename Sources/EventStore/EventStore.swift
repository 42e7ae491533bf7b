import Foundation

/// Which way a stream is read.
public enum ReadDirection: Sendable {
    case forward, backward
}

/// The append-only event log on LMDB: streams, global positions, idempotency, a hash chain.
///
/// Thread-safe. Appends from any task meet in one `GroupCommitter`; reads run in their own
/// short read-only transactions and never wait for writers. Nothing here updates or deletes an event.
public final class EventStore: Sendable {
    /// The directory holding the LMDB environment.
    public let directory: String
    /// How the store was opened.
    public let options: StoreOptions
    /// Reader slots of dead processes cleared when the store was opened.
    public let staleReadersCleared: Int

    let environment: LMDBEnvironment
    let databases: LogDatabases
    let headWatch: HeadWatch
    private let committer: GroupCommitter?
    private let writerLock: WriterLock?

    /// The stored format this code writes, and the newest it reads.
    public static let storedFormat: UInt32 = 1

    /// Opens the log in `directory`, creating directory and environment when writable and absent.
    public init(directory: String, options: StoreOptions = StoreOptions()) throws {
        self.directory = directory
        self.options = options
        if !options.readOnly {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o700])
            writerLock = try WriterLock(path: directory + "/writer.lock")
        } else {
            writerLock = nil
        }
        if options.readOnly, !FileManager.default.fileExists(atPath: directory + "/data.mdb") {
            throw StoreError.storage(code: ENOENT, operation: "open", message: "no event log at \(directory)")
        }
        let (environment, staleReaders, databases) = try EventStore.storageCall {
            let environment = try LMDBEnvironment(
                path: directory, mapSize: options.initialMapSize, maxReaders: options.maxReaders,
                maxDatabases: UInt32(LogDatabases.names.count + 3), readOnly: options.readOnly)
            return (
                environment, try environment.clearStaleReaders(),
                try LogDatabases(environment, create: !options.readOnly)
            )
        }
        let format = try environment.read { txn in
            try txn.withValue(databases.meta, key: Array("format".utf8)) { $0.map { IndexKeys.integer($0) ?? .max } }
        }
        if let format, format > UInt64(EventStore.storedFormat) {
            throw StoreError.unsupportedFormat(found: UInt32(clamping: format), supported: EventStore.storedFormat)
        }
        if format == nil && !options.readOnly {
            try EventStore.storageCall {
                try environment.write { txn in
                    try txn.put(
                        databases.meta, key: Array("format".utf8),
                        value: IndexKeys.integer(UInt64(EventStore.storedFormat)))
                    try txn.put(
                        databases.meta, key: Array("created".utf8),
                        value: IndexKeys.integer(UInt64(bitPattern: options.clock().microsecondsSince1970)))
                    try txn.put(databases.meta, key: UnindexedTail.indexedKey, value: IndexKeys.integer(0))
                }
            }
        }
        let head = try EventStore.storageCall { try environment.read { try LogTail.read($0, databases) } }
        self.environment = environment
        self.databases = databases
        self.staleReadersCleared = staleReaders
        headWatch = HeadWatch(head: head.position)
        committer =
            options.readOnly
            ? nil
            : try GroupCommitter(environment: environment, databases: databases, options: options, headWatch: headWatch)
    }

    deinit { close() }

    /// Commits what is queued, stops the writer, ends subscriptions and closes the environment.
    /// Later calls fail with `closed`.
    public func close() {
        committer?.stop()
        headWatch.close()
        environment.close()
        writerLock?.release()
    }

    // MARK: Writing

    /// Appends the request's events atomically; returns once they are durable on disk.
    ///
    /// A request id seen before returns the first result (marked `duplicate`) and writes nothing.
    @discardableResult
    public func append(_ request: AppendRequest) async throws -> AppendResult {
        guard let committer else { throw StoreError.readOnly }
        try validate(request)
        return try await withCheckedThrowingContinuation { continuation in
            committer.submit(request, continuation)
        }
    }

    /// Rebuilds a log from a copy of it (a PostgreSQL it was shipped to): appends `requests` in
    /// this order, each recorded at its `recordedAt`, so that an empty store given the original's
    /// requests ends with the same positions, versions, times and hashes. Returns when all are
    /// durable; throws the first refusal.
    public func restore(_ requests: [(request: AppendRequest, recordedAt: Timestamp)]) async throws -> [AppendResult] {
        guard let committer else { throw StoreError.readOnly }
        var ordered: [AppendRequest] = []
        ordered.reserveCapacity(requests.count)
        for (request, recordedAt) in requests {
            try validate(request)
            var restored = request
            restored.recordedAt = recordedAt
            ordered.append(restored)
        }
        guard !ordered.isEmpty else { return [] }
        let results = RestoreResults(count: ordered.count)
        return try await withCheckedThrowingContinuation { continuation in
            results.whenDone = { continuation.resume(with: $0) }
            committer.submit(ordered, results)
        }
    }

    /// Appends events to one stream; see `append(_:)`.
    @discardableResult
    public func append(
        to stream: StreamName, expected: ExpectedVersion = .any, _ events: [ProposedEvent],
        actor: Actor = .system, requestId: String? = nil
    ) async throws -> AppendResult {
        try await append(
            AppendRequest(stream: stream, expected: expected, events: events, actor: actor, requestId: requestId))
    }

    /// Counters of the writer since the store was opened.
    public var commitStatistics: CommitStatistics { committer?.statistics ?? CommitStatistics() }

    private func validate(_ request: AppendRequest) throws {
        func name(_ value: String, _ what: String, optional: Bool = false) throws {
            let length = value.utf8.count
            if length == 0 && !optional { throw StoreError.invalidRequest("\(what) is empty") }
            if length > StoreOptions.maxNameLength {
                throw StoreError.invalidRequest(
                    "\(what) is \(length) bytes; at most \(StoreOptions.maxNameLength) are allowed")
            }
        }
        guard !request.appends.isEmpty else { throw StoreError.invalidRequest("no stream to append to") }
        // Most requests write one stream; only several need the duplicate check's set.
        var seen = Set<StreamName>()
        let several = request.appends.count > 1
        for append in request.appends {
            try name(append.stream.rawValue, "a stream name")
            if append.stream.rawValue.utf8.contains(0) {
                throw StoreError.invalidRequest("stream name '\(append.stream)' contains a NUL byte")
            }
            guard !several || seen.insert(append.stream).inserted else {
                throw StoreError.invalidRequest("stream '\(append.stream)' appears twice in one request")
            }
            guard !append.events.isEmpty else {
                throw StoreError.invalidRequest("no events for stream '\(append.stream)'")
            }
            for event in append.events {
                try name(event.type, "an event type")
                guard event.data.count <= options.maxEventSize else {
                    throw StoreError.invalidRequest(
                        "an event of \(event.data.count) bytes exceeds the limit of \(options.maxEventSize)")
                }
            }
        }
        for condition in request.conditions {
            try name(condition.stream.rawValue, "a stream name")
            if condition.stream.rawValue.utf8.contains(0) {
                throw StoreError.invalidRequest("stream name '\(condition.stream)' contains a NUL byte")
            }
            guard !request.appends.contains(where: { $0.stream == condition.stream }) else {
                throw StoreError.invalidRequest("stream '\(condition.stream)' is both written and only checked")
            }
        }
        try name(request.actor.principal, "the actor's principal")
        if let id = request.requestId { try name(id, "the request id") }
        if let id = request.correlationId { try name(id, "the correlation id") }
        if let id = request.causationId { try name(id, "the causation id") }
    }

    // MARK: Reading the log

    /// The last committed position (0 for an empty log) and its hash.
    public func head() throws -> (position: Position, hash: EventHash) {
        let databases = databases
        let tail = try EventStore.storageCall { try environment.read { try LogTail.read($0, databases) } }
        return (tail.position, tail.hash)
    }

    /// The last committed position; 0 for an empty log.
    public var headPosition: Position { (try? head().position) ?? headWatch.head }

    /// The last position this store committed, or found when it opened, without touching LMDB.
    /// Every append acknowledged by this store is at or below it (it moves before the appenders
    /// resume), so a reader that has folded up to it has seen all of its own writes.
    public var committedHead: Position { headWatch.head }

    /// The event at `position`, or nil beyond the head.
    public func event(at position: Position) throws -> RecordedEvent? {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                try txn.withValue(databases.events, key: IndexKeys.position(position)) { bytes in
                    try bytes.map { try EventStore.decode($0, at: position) }
                }
            }
        }
    }

    /// Waits until the log's head passes `position`; returns the new head, or nil once the store closes.
    public func waitForEvents(after position: Position) async -> Position? {
        await headWatch.wait(after: position)
    }

    /// The first result of request `requestId`, or nil when no append carried it.
    ///
    /// Lets a caller whose retry was refused on today's state (say, a payment that no longer
    /// fits the balance) find out that the first attempt went through.
    public func firstResult(ofRequest requestId: String) throws -> AppendResult? {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                if var result = try txn.withValue(
                    databases.requests, key: Array(requestId.utf8), { $0.flatMap(IndexKeys.decodeResult) })
                {
                    result.duplicate = true
                    return result
                }
                guard var result = try WriterTail.load(txn, databases).requests[requestId] else { return nil }
                result.duplicate = true
                return result
            }
        }
    }

    /// The events at `positions` (those that exist), in the order given, read in one transaction.
    public func events(at positions: [Position]) throws -> [RecordedEvent] {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                try positions.compactMap { position in
                    try txn.withValue(databases.events, key: IndexKeys.position(position)) { bytes in
                        try bytes.map { try EventStore.decode($0, at: position) }
                    }
                }
            }
        }
    }

    /// Up to `limit` events from `position` on, in log order, read in one short transaction.
    public func read(from position: Position, limit: Int) throws -> [RecordedEvent] {
        guard limit > 0 else { return [] }
        var events: [RecordedEvent] = []
        events.reserveCapacity(min(limit, 4096))
        try scan(from: position, batchSize: limit) { event in
            events.append(event)
            return events.count < limit
        }
        return events
    }

    /// Calls `body` with every event from `from` to `to` (inclusive) in order.
    ///
    /// The log is read in transactions of `batchSize` events, so a scan of the whole log never
    /// pins old pages for long; `body` runs inside the current batch's read transaction and may
    /// itself read the store (reads do not block each other). Return false from `body` to stop.
    public func scan(
        from: Position = 1, to: Position = .max, batchSize: Int = 1024,
        _ body: (RecordedEvent) throws -> Bool
    ) throws {
        let databases = databases
        var next = max(from, 1)
        while next <= to {
            // The batch returns where to go on (nil: done) rather than mutating captured
            // variables, which would cost a dynamic exclusivity check per event.
            let resume: Position? = try EventStore.storageCall {
                try environment.read { txn in
                    try txn.withCursor(databases.events) { cursor in
                        var move = CursorMove.atOrAfter(IndexKeys.position(next))
                        var position = next
                        for _ in 0..<batchSize {
                            // The event goes to `body` straight from the cursor's buffer, without
                            // being copied out through an optional first.
                            let going: Bool? = try cursor.move(move) { key, value in
                                prefetchNextRecord(before: key)
                                let event = try EventStore.decode(value, at: IndexKeys.position(key))
                                guard event.position <= to else { return false }
                                position = event.position + 1
                                return try body(event)
                            }
                            guard going == true else { return nil }
                            move = .next
                        }
                        return position
                    }
                }
            }
            guard let resume else { return }
            next = resume
        }
    }

    // MARK: Reading streams

    /// A stream's current version; 0 when it does not exist.
    public func streamVersion(_ stream: StreamName) throws -> StreamVersion {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { try UnindexedTail.StreamLocator(stream, $0, databases).lastVersion }
        }
    }

    /// Up to `limit` events of a stream starting at version `from`, forward or backward.
    /// Backward from a version beyond the stream's end starts at its last event.
    public func readStream(
        _ stream: StreamName, from version: StreamVersion = 1, direction: ReadDirection = .forward,
        limit: Int = 4096
    ) throws -> [RecordedEvent] {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                let locator = try UnindexedTail.StreamLocator(stream, txn, databases)
                let last = locator.lastVersion
                var events: [RecordedEvent] = []
                var next = direction == .forward ? max(version, 1) : min(version, last)
                while events.count < limit, next >= 1, next <= last {
                    guard let position = try locator.position(of: next, txn, databases),
                        let event = try EventStore.event(at: position, txn, databases)
                    else {
                        throw StoreError.corrupted(
                            position: nil, reason: "stream '\(stream)' version \(next) is indexed but missing")
                    }
                    events.append(event)
                    next = direction == .forward ? next + 1 : next - 1
                }
                return events
            }
        }
    }

    /// A stream as it stood when the log's head was `position`: its events at or before that position.
    public func readStream(_ stream: StreamName, upTo position: Position) throws -> [RecordedEvent] {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                let locator = try UnindexedTail.StreamLocator(stream, txn, databases)
                var events: [RecordedEvent] = []
                var version: StreamVersion = 1
                while let at = try locator.position(of: version, txn, databases), at <= position {
                    guard let event = try EventStore.event(at: at, txn, databases) else {
                        throw StoreError.corrupted(
                            position: at, reason: "indexed by stream '\(stream)' but missing from the log")
                    }
                    events.append(event)
                    version += 1
                }
                return events
            }
        }
    }

    /// A stream exactly as the log knew it at `time`: its events recorded at or before then.
    public func readStream(_ stream: StreamName, asOf time: Timestamp) throws -> [RecordedEvent] {
        try readStream(stream, upTo: position(asOf: time))
    }

    /// The last position recorded at or before `time`; 0 when the log then was empty.
    ///
    /// recordedAt never decreases along the log (the writer clamps a clock that went back),
    /// so a binary search over positions finds it in O(log n) page reads.
    public func position(asOf time: Timestamp) throws -> Position {
        let databases = databases
        return try EventStore.storageCall {
            try environment.read { txn in
                var low: Position = 0
                var high = try LogTail.read(txn, databases).position
                while low < high {
                    let middle = low.advanced(by: (low.distance(to: high) + 1) / 2)
                    let recorded = try txn.withValue(databases.events, key: IndexKeys.position(middle)) {
                        bytes -> Timestamp in
                        guard let bytes, bytes.count > EventCodec.headerSize else {
                            throw StoreError.corrupted(position: middle, reason: "missing while searching by time")
                        }
                        return EventCodec.recordedAt(bytes)
                    }
                    if recorded <= time { low = middle } else { high = middle - 1 }
                }
                return low
            }
        }
    }

    // MARK: Subscriptions

    /// Every event from `position` on, then live events as they are committed, until cancelled or closed.
    public func subscribe(from position: Position = 1, batchSize: Int = 512) -> LogSubscription {
        LogSubscription(store: self, from: max(position, 1), batchSize: batchSize)
    }

    // MARK: Operations

    /// Writes a consistent copy of the log into `destination` (created if absent, must be empty)
    /// while appends go on; `compact` leaves out free pages.
    public func backup(to destination: String, compact: Bool = true) throws {
        let manager = FileManager.default
        if manager.fileExists(atPath: destination) {
            let contents = try manager.contentsOfDirectory(atPath: destination)
            guard contents.isEmpty else { throw StoreError.destinationNotEmpty(path: destination) }
        } else {
            try manager.createDirectory(
                atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        try EventStore.storageCall { try environment.copy(to: destination, compact: compact) }
    }

    /// Head, sizes and counters for `system.status` and `crmd verify`.
    public func status() throws -> StoreStatus {
        let databases = databases
        let (tail, streams, requests) = try EventStore.storageCall {
            try environment.read { txn in
                (
                    try LogTail.read(txn, databases), Int(try LogTail.streamCount(txn, databases)),
                    try txn.count(databases.requests) + EventStore.tailRequestCount(txn, databases)
                )
            }
        }
        let info = environment.info()
        return StoreStatus(
            headPosition: tail.position, headHash: tail.hash,
            lastRecordedAt: tail.position == 0 ? nil : tail.recordedAt,
            streams: streams, requests: requests, mapSize: info.mapSize, usedBytes: info.usedBytes,
            readersInUse: info.readersInUse, maxReaders: info.maxReaders,
            staleReadersCleared: staleReadersCleared, commits: commitStatistics, reopenings: environment.openings)
    }

    // MARK: Internals shared with the verifier and subscriptions

    static func decode(_ bytes: UnsafeRawBufferPointer, at position: Position?) throws -> RecordedEvent {
        let event = try EventCodec.decode(bytes, expectedPosition: position)
        if let position, event.position != position {
            throw StoreError.corrupted(
                position: position, reason: "stored under position \(position) but says it is \(event.position)")
        }
        return event
    }

    /// Requests in the unindexed tail: a request's events are contiguous, so each change of id starts one.
    static func tailRequestCount(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> Int {
        var count = 0
        var previous: [UInt8] = []
        try UnindexedTail.scan(txn, databases, after: try UnindexedTail.indexedThrough(txn, databases)) {
            _, _, _, requestId, _ in
            if requestId.count > 0, !requestId.elementsEqual(previous) { count += 1 }
            previous = [UInt8](requestId)
        }
        return count
    }

    static func position(
        of stream: StreamName, version: StreamVersion, _ txn: LMDBTransaction, _ databases: LogDatabases
    ) throws -> Position? {
        try txn.withValue(databases.streams, key: IndexKeys.streamEntry(stream, version)) {
            $0.flatMap(IndexKeys.position)
        }
    }

    static func event(at position: Position, _ txn: LMDBTransaction, _ databases: LogDatabases) throws -> RecordedEvent?
    {
        try txn.withValue(databases.events, key: IndexKeys.position(position)) {
            try $0.map { try decode($0, at: position) }
        }
    }

    /// Runs `body`, turning LMDB errors into `StoreError`s. Any other error is the caller's own
    /// (a query refusing its arguments inside a read, a scan's callback stopping) and passes
    /// through unchanged, so it keeps its meaning instead of becoming a storage failure.
    package static func storageCall<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as LMDBError { throw StoreError(error) }
    }
}

/// A snapshot of the log's state, for status reports.
public struct StoreStatus: Sendable {
    /// The last committed position; 0 for an empty log.
    public var headPosition: Position
    /// The hash of that event: it commits to the whole log.
    public var headHash: EventHash
    /// When the last event was stored.
    public var lastRecordedAt: Timestamp?
    /// Number of streams.
    public var streams: Int
    /// Number of remembered request ids.
    public var requests: Int
    /// Current size of the memory map in bytes.
    public var mapSize: Int
    /// Bytes of the map in use.
    public var usedBytes: Int
    /// Reader slots in use across processes.
    public var readersInUse: Int
    /// Reader slots available.
    public var maxReaders: Int
    /// Stale reader slots cleared at open.
    public var staleReadersCleared: Int
    /// The writer's counters since open.
    public var commits: CommitStatistics
    /// Times the environment was reopened after LMDB declared it unusable (MDB_PANIC) since open.
    public var reopenings: UInt64 = 0
}

/// The results of a restore's requests as they come in, handed over once all are in.
final class RestoreResults: @unchecked Sendable {
    private let lock = NSLock()
    private var results: [AppendResult?]
    private var remaining: Int
    private var failure: (any Error)?
    var whenDone: ((Result<[AppendResult], any Error>) -> Void)?

    init(count: Int) {
        results = Array(repeating: nil, count: count)
        remaining = count
    }

    func record(_ index: Int, _ result: Result<AppendResult, any Error>) {
        lock.lock()
        switch result {
        case .success(let appended): results[index] = appended
        case .failure(let error): if failure == nil { failure = error }
        }
        remaining -= 1
        let done = remaining == 0
        lock.unlock()
        guard done else { return }
        if let failure { whenDone?(.failure(failure)) } else { whenDone?(.success(results.compactMap { $0 })) }
    }
}
