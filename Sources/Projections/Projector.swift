import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue

/// Where a projection stands.
public struct ProjectionStatus: Sendable, Equatable {
    /// The projection's name.
    public var name: String
    /// Its code version.
    public var version: Int
    /// The last position folded in.
    public var checkpoint: Position
    /// Events the log holds beyond the checkpoint.
    public var lag: UInt64
}

/// Progress of a catch-up or rebuild, for the command line's progress bar.
public struct ProjectionProgress: Sendable {
    /// Events folded so far in this run.
    public var done: Int
    /// Events this run has to fold in all.
    public var total: Int
    /// Seconds since the run began.
    public var seconds: Double
    /// Events per second so far.
    public var rate: Double { seconds > 0 ? Double(done) / seconds : 0 }
    /// Estimated seconds left.
    public var eta: Double { rate > 0 ? Double(total - done) / rate : 0 }
}

/// Keeps projections in step with the log: on start, rebuilds those that are new or whose
/// version changed; then folds every new event into each, in batches, state and checkpoint in
/// one transaction of `DIR/projections`.
///
/// Thread-safe; folding runs one batch at a time (`folding` lock), whoever asks for it.
public final class Projector: Sendable {
    /// The log projections fold.
    public let store: EventStore
    /// The projections' tables and checkpoints.
    public let state: KeyValueStore
    private let projections: [any Projection]
    private let folding = Locked(())
    private let foldingQueue = DispatchQueue(label: "crmd.projector")
    private let readingQueue = DispatchQueue(label: "crmd.projector.read-ahead")
    static let checkpoints = "_checkpoints"

    /// Opens `directory` (DIR/projections) for `projections`, resetting the stale ones.
    public init(store: EventStore, directory: String, projections: [any Projection]) throws {
        precondition(Set(projections.map(\.name)).count == projections.count, "projection names must be unique")
        self.store = store
        self.projections = projections
        state = try KeyValueStore(directory: directory, tables: [Projector.checkpoints] + projections.flatMap(\.tables))
        try state.write { txn in
            for projection in projections {
                let stored = try Projector.checkpoint(projection.name, txn)
                if stored?.version != projection.version {
                    for table in projection.tables { try txn.clear(table) }
                    try Projector.setCheckpoint(projection, 0, txn)
                }
            }
        }
    }

    /// Closes the projections' environment (the log stays open).
    public func close() { state.close() }

    static func checkpoint(_ name: String, _ txn: KeyValueTransaction) throws -> (version: Int, position: Position)? {
        guard let bytes = try txn.get(checkpoints, Array(name.utf8)), bytes.count == 12 else { return nil }
        let version = bytes[0..<4].reduce(0) { $0 << 8 | Int($1) }
        let position = Position(rawValue: bytes[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        return (version, position)
    }

    private static func setCheckpoint(
        _ projection: any Projection, _ position: Position, _ txn: KeyValueTransaction
    ) throws {
        var bytes = withUnsafeBytes(of: UInt32(projection.version).bigEndian) { Array($0) }
        bytes += withUnsafeBytes(of: UInt64(position).bigEndian) { Array($0) }
        try txn.put(checkpoints, Array(projection.name.utf8), bytes)
    }

    /// Each projection's checkpoint and lag behind the log's head.
    public func status() throws -> [ProjectionStatus] {
        let head = try store.head().position
        return try state.read { txn in
            try projections.map { projection in
                let checkpoint = try Projector.checkpoint(projection.name, txn)?.position ?? 0
                return ProjectionStatus(
                    name: projection.name, version: projection.version, checkpoint: checkpoint,
                    lag: head > checkpoint ? UInt64(checkpoint.distance(to: head)) : 0)
            }
        }
    }

    /// The lowest checkpoint: every projection has folded the log up to here.
    public func checkpoint() throws -> Position {
        try status().map(\.checkpoint).min() ?? store.head().position
    }

    /// Folds every event up to the current head into every projection that has not seen it.
    ///
    /// Each batch of `batchSize` events is one transaction holding the projections' new state
    /// and checkpoints, so a crash anywhere redoes at most one batch and applies nothing twice.
    /// Returns the number of events read.
    @discardableResult
    public func catchUp(batchSize: Int = 4096, progress: (@Sendable (ProjectionProgress) -> Void)? = nil) throws -> Int
    {
        try folding.withLock { _ in try foldToHead(batchSize: batchSize, progress: progress) }
    }

    /// A catch-up this many events long is a bulk load (`KeyValueStore.bulkLoad`): its commits
    /// skip fsync and it syncs once at the end; cut off by a crash, the projections start
    /// empty and are rebuilt.
    public static let bulkLoadFrom: Int64 = 65_536

    private func foldToHead(
        batchSize: Int, bulk: Bool = false, progress: (@Sendable (ProjectionProgress) -> Void)?
    ) throws -> Int {
        let head = try store.head().position
        var checkpoints = try state.read { txn in
            try projections.map { try Projector.checkpoint($0.name, txn)?.position ?? 0 }
        }
        guard let low = checkpoints.min(), low < head else { return 0 }
        if !bulk, low.distance(to: head) >= Projector.bulkLoadFrom {
            return try state.bulkLoad { try foldToHead(batchSize: batchSize, bulk: true, progress: progress) }
        }
        let started = ContinuousClock.now
        var done = 0
        // A catch-up of more than one batch reads and decodes the next batches on other threads
        // while this one folds the current one: on a rebuild, decoding and preparing is most of
        // the work. Two batches ahead, so the cores do not idle while the fold alone finishes a
        // batch. A live fold of a few events reads them inline.
        let readAhead = low.distance(to: head) > Int64(batchSize)
        let depth = readAhead ? 2 : 1
        var nextFrom = low + 1
        var pending: [BatchRead] = []
        func fillReadAhead() {
            while pending.count < depth, nextFrom <= head {
                let to = min(head, nextFrom + UInt64(batchSize) - 1)
                // Checkpoints only grow, so one read before the batches in flight are folded
                // asks at most for preparations a projection turns out not to need.
                pending.append(
                    BatchRead(
                        store: store, projections: projections, needed: checkpoints.map { $0 < to }, from: nextFrom,
                        to: to,
                        async: readAhead ? readingQueue : nil))
                nextFrom = to + 1
            }
        }
        defer { for read in pending { read.wait() } }
        fillReadAhead()
        while !pending.isEmpty {
            let (batch, prepared) = try pending.removeFirst().events()
            guard let last = batch.last?.recorded.position else { break }
            fillReadAhead()
            try state.write { txn in
                for (index, projection) in projections.enumerated() where checkpoints[index] < last {
                    for (offset, event) in batch.enumerated() where event.recorded.position > checkpoints[index] {
                        try projection.apply(event, prepared: prepared[index][offset], in: txn)
                    }
                    try Projector.setCheckpoint(projection, last, txn)
                }
            }
            for index in checkpoints.indices where checkpoints[index] < last { checkpoints[index] = last }
            done += batch.count
            progress?(
                ProjectionProgress(
                    done: done, total: Int(low.distance(to: head)), seconds: (ContinuousClock.now - started).seconds))
        }
        return done
    }

    /// One batch of the log, read, decoded and prepared by each projection, either at once or on
    /// `async` while the caller does something else; `events()` waits for it.
    ///
    /// A long batch is decoded and prepared in slices on every core: opening notes and hashing
    /// their search tokens is most of a rebuild's work, each event's independent of the others',
    /// while the fold, which needs the one write transaction, runs beside them.
    private final class BatchRead: @unchecked Sendable {
        // Safe to share: `result` is written once on the reading queue before `ready` is
        // signalled, and read only after waiting on `ready`.
        private var result: Result<([ProjectedEvent], [[(any Sendable)?]]), any Error>?
        private let ready = DispatchSemaphore(value: 0)
        private var waited = false
        /// Below this many events a batch is decoded on one thread: handing slices to other
        /// threads costs more than a live fold of a few events saves.
        static let parallelFrom = 512

        /// Reads events `from`...`to`; `needed[i]` says whether projection `i` folds any of them
        /// (the others' `prepare` is skipped).
        init(
            store: EventStore, projections: [any Projection], needed: [Bool], from: Position, to: Position,
            async queue: DispatchQueue?
        ) {
            let read: @Sendable () -> Void = { [self] in
                result = Result {
                    var recorded: [RecordedEvent] = []
                    recorded.reserveCapacity(Int(from.distance(to: to) + 1))
                    try store.scan(from: from, to: to, batchSize: Int(from.distance(to: to) + 1)) { event in
                        recorded.append(event)
                        return true
                    }
                    return try BatchRead.decodeAndPrepare(
                        recorded, projections.enumerated().map { needed[$0.offset] ? $0.element : nil })
                }
                ready.signal()
            }
            if let queue { queue.async(execute: read) } else { read() }
        }

        /// The events decoded, and what each projection (nil: none needed) prepared for each.
        private static func decodeAndPrepare(
            _ recorded: [RecordedEvent], _ projections: [(any Projection)?]
        ) throws
            -> ([ProjectedEvent], [[(any Sendable)?]])
        {
            let slices = recorded.count >= parallelFrom ? max(1, ProcessInfo.processInfo.activeProcessorCount) : 1
            let bounds = (0...slices).map { recorded.count * $0 / slices }
            let decode: @Sendable (Int) throws -> ([ProjectedEvent], [[(any Sendable)?]]) = { slice in
                let events = try recorded[bounds[slice]..<bounds[slice + 1]].map { try ProjectedEvent($0) }
                let prepared = projections.map { projection in
                    projection.map { projection in events.map { projection.prepare($0) } }
                        ?? Array(repeating: nil, count: events.count)
                }
                return (events, prepared)
            }
            // A live fold's few events: one slice, handed back as it is.
            if slices == 1 { return try decode(0) }
            let done = Locked(
                [Result<([ProjectedEvent], [[(any Sendable)?]]), any Error>?](repeating: nil, count: slices))
            DispatchQueue.concurrentPerform(iterations: slices) { slice in
                let outcome = Result { try decode(slice) }
                done.withLock { $0[slice] = outcome }
            }
            var events: [ProjectedEvent] = []
            events.reserveCapacity(recorded.count)
            var prepared = [[(any Sendable)?]](repeating: [], count: projections.count)
            for outcome in done.withLock({ $0 }) {
                let (sliceEvents, slicePrepared) = try outcome!.get()
                events += sliceEvents
                for index in prepared.indices { prepared[index] += slicePrepared[index] }
            }
            return (events, prepared)
        }

        /// Waits until the batch is read (once; later calls return at once).
        func wait() {
            if !waited {
                ready.wait()
                waited = true
            }
        }

        /// The batch's events with what each projection prepared for each, or the error reading them.
        func events() throws -> ([ProjectedEvent], [[(any Sendable)?]]) {
            wait()
            return try result!.get()
        }
    }

    /// Empties the named projections (all when nil) and folds the whole log into them again.
    public func rebuild(
        _ names: [String]? = nil, batchSize: Int = 8192,
        progress: (@Sendable (ProjectionProgress) -> Void)? = nil
    ) throws {
        let chosen = projections.filter { names?.contains($0.name) ?? true }
        if let names, let unknown = names.first(where: { name in !projections.contains { $0.name == name } }) {
            throw StoreError.invalidRequest(
                "no projection named \(unknown); there are \(projections.map(\.name).joined(separator: ", "))")
        }
        try folding.withLock { _ in
            try state.bulkLoad {
                try state.write { txn in
                    for projection in chosen {
                        for table in projection.tables { try txn.clear(table) }
                        try Projector.setCheckpoint(projection, 0, txn)
                    }
                }
                _ = try foldToHead(batchSize: batchSize, bulk: true, progress: progress)
            }
        }
    }

    /// Runs `work` on the projector's own thread. A fold of a busy moment's events takes
    /// milliseconds of CPU; on the cooperative pool (one thread per core) it would hold a thread
    /// the daemon's requests need, while a thread of its own is time-sliced with them by the OS.
    private func onFoldingThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            foldingQueue.async { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Every entry of every projection table (checkpoints excluded), for comparing two projectors'
    /// states: live-updated against rebuilt.
    public func exportState() throws -> [String: [[UInt8]]] {
        try state.read { txn in
            var tables: [String: [[UInt8]]] = [:]
            for table in projections.flatMap(\.tables) {
                var entries: [[UInt8]] = []
                try txn.scan(table, prefix: []) { key, value in
                    entries.append(withUnsafeBytes(of: UInt32(key.count).bigEndian) { Array($0) } + key + value)
                    return true
                }
                tables[table] = entries
            }
            return tables
        }
    }

    /// Follows the log: folds new events as they are committed, until the task is cancelled or
    /// the store closes. Under load a batch holds everything committed since the last one.
    ///
    /// It folds at most once per `interval`: an event arriving at rest is folded at once, and
    /// under load events gather until the interval since the last fold has passed. Each fold is
    /// one commit of the projections, with its fsync and the pages it touches written again, and
    /// the daemon's commands wait on the same disk: folding after every commit of the log
    /// doubled the flushes a command waits behind. Queries never see the delay (each catches up
    /// before it answers), so only `system.status`'s lag shows it, bounded by `interval`.
    public func run(batchSize: Int = 4096, interval: Duration = .milliseconds(10)) async throws {
        let clock = ContinuousClock()
        var lastFold = clock.now - interval
        while !Task.isCancelled {
            let next = lastFold + interval
            // Cancelled while waiting means the daemon is stopping: a normal end, not an error
            // (what is left unfolded is folded by the next start or query).
            if next > clock.now {
                do { try await Task.sleep(until: next, clock: clock) } catch { return }
            }
            lastFold = clock.now
            do {
                _ = try await onFoldingThread { try self.catchUp(batchSize: batchSize) }
            } catch let error as StoreError where error.isTransient {
                // A full disk or a failed write stops folding, not the daemon: try again once
                // space may be back (a broken environment is reopened by that next try).
                do { try await Task.sleep(for: .seconds(1)) } catch { return }
                continue
            }
            let seen = try checkpoint()
            guard await store.waitForEvents(after: seen) != nil else { return }
        }
    }
}
