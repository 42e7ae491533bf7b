import EventStore
import Foundation
import JSONKit
import Logging
import NIOCore
import PostgresNIO

/// Copies the log into PostgreSQL (`crmd_events`), exactly once and in order.
///
/// Each batch goes in one PostgreSQL transaction: an advisory lock (one shipper at a time), the
/// last shipped row read back as the checkpoint, the next events of the log checked to chain onto
/// it, COPY, and `crmd_ship` moved on. A shipper killed, a server restarted or a connection
/// dropped mid-batch leaves nothing of that batch behind, and the next attempt starts from the
/// last row that did commit. The primary key on `position` makes a second copy of a row
/// impossible even if the lock were bypassed.
public final class Shipper: Sendable {
    /// The log shipped.
    public let store: EventStore
    /// Where to.
    public let target: PostgresTarget
    /// Events per transaction.
    public let batchSize: Int
    let logger: Logger
    let progress = ShipProgress()

    /// A shipper of `store` to `target`, `batchSize` events per transaction.
    public init(store: EventStore, target: PostgresTarget, batchSize: Int = 5_000, logger: Logger) {
        self.store = store
        self.target = target
        self.batchSize = batchSize
        self.logger = logger
    }

    /// The key of the advisory lock that keeps two shippers of one database from interleaving.
    static let lockKey: Int64 = 0x63_72_6D_64  // "crmd"

    /// Opens a connection and creates the tables and views (each statement safe to repeat).
    public func connect() async throws -> PostgresConnection {
        let connection = try await PostgresConnection.connect(
            configuration: target.configuration, id: Int.random(in: 1...Int(Int32.max)), logger: logger)
        do {
            for statement in ShipSchema.statements {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }

    /// Ships everything up to the head as it is now; returns how many events went.
    public func shipToHead() async throws -> UInt64 {
        try await withConnection(connect) { connection in
            let head = try store.head().position
            var shipped: UInt64 = 0
            while true {
                let (count, position) = try await shipBatch(connection, upTo: head)
                shipped += count
                if count == 0 || position >= head { return shipped }
            }
        }
    }

    /// Ships one batch of at most `batchSize` events after the checkpoint and at or before `head`,
    /// in one transaction; returns how many went and the position shipped up to.
    func shipBatch(_ connection: PostgresConnection, upTo head: Position) async throws -> (UInt64, Position) {
        let store = store
        let batchSize = batchSize
        // A connection the server ended (a restart, an idle timeout) is not asked again.
        guard !connection.isClosed else { throw ShipConnectionError(description: "the connection was closed") }
        let result: (UInt64, Position)
        do {
            result = try await transaction(connection, store: store, head: head, batchSize: batchSize)
        } catch let error as PostgresTransactionError {
            // A refusal of ours inside the transaction is ours to report, not a database error.
            if let refusal = error.closureError as? ShipError { throw refusal }
            throw ShipConnectionError(description: Shipper.describe(error))
        }
        progress.shipped(result.1)
        return result
    }

    /// What went wrong in a transaction, in a line (the server's message where it sent one).
    static func describe(_ error: PostgresTransactionError) -> String {
        let inner = error.beginError ?? error.closureError ?? error.commitError ?? error.rollbackError
        return inner.map(describe) ?? "the transaction failed"
    }

    /// An error in a line: the server's own message, or what failed underneath (a refused
    /// connection), never the query's bound values.
    static func describe(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return String(describing: error) }
        if let message = psql.serverInfo?[.message] { return message }
        if let underlying = psql.underlying { return "\(psql.code): \(underlying)" }
        return "\(psql.code)"
    }

    /// The batch's transaction: lock, checkpoint, chain check, COPY, checkpoint moved.
    private func transaction(
        _ connection: PostgresConnection, store: EventStore, head: Position, batchSize: Int
    ) async throws -> (UInt64, Position) {
        let logger = logger
        return try await connection.withTransaction(logger: logger) { c in
            try await c.query("SELECT pg_advisory_xact_lock(\(Shipper.lockKey))", logger: logger)
            let checkpoint = try await Shipper.lastRow(c, logger)
            try Shipper.checkChain(store, checkpoint)
            let from = checkpoint.position + 1
            guard from <= head else { return (0, checkpoint.position) }
            let events = try store.read(from: from, limit: min(batchSize, Int(head.rawValue - checkpoint.position.rawValue)))
            guard let last = events.last else { return (0, checkpoint.position) }
            try await c.copyFrom(table: "crmd_events", columns: CopyRows.columns, logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(1 << 20)
                for event in events {
                    CopyRows.append(event, to: &buffer)
                    if buffer.readableBytes >= 1 << 20 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
            let hash = ByteBuffer(bytes: last.hash.bytes)
            let position = Int64(last.position.rawValue)
            let recorded = last.recordedAt.rfc3339
            try await c.query(
                """
                INSERT INTO crmd_ship (id, position, hash, recorded_at, shipped_at)
                VALUES (1, \(position), \(hash), \(recorded)::timestamptz, now())
                ON CONFLICT (id) DO UPDATE SET position = excluded.position, hash = excluded.hash,
                    recorded_at = excluded.recorded_at, shipped_at = excluded.shipped_at
                """, logger: logger)
            return (UInt64(events.count), last.position)
        }
    }

    /// The last row PostgreSQL holds (position 0 and the genesis hash when it holds none).
    static func lastRow(_ connection: PostgresConnection, _ logger: Logger) async throws -> (
        position: Position, hash: EventHash
    ) {
        let rows = try await connection.query(
            "SELECT position, hash FROM crmd_events ORDER BY position DESC LIMIT 1", logger: logger)
        for try await (position, hash) in rows.decode((Int64, ByteBuffer).self) {
            guard let hash = EventHash(bytes: Array(buffer: hash)) else {
                throw ShipError.corrupted(position: UInt64(position), reason: "crmd_events.hash is not 32 bytes")
            }
            return (Position(position), hash)
        }
        return (0, .genesis)
    }

    /// Refuses to go on unless the log holds, at the checkpoint's position, the very event
    /// PostgreSQL ended with: so what is shipped next chains onto it, and a log restored from an
    /// older copy, or another company's, is never mixed in.
    static func checkChain(_ store: EventStore, _ checkpoint: (position: Position, hash: EventHash)) throws {
        guard checkpoint.position > 0 else { return }
        guard let ours = try store.event(at: checkpoint.position) else {
            throw ShipError.forked(
                position: checkpoint.position.rawValue,
                reason: "PostgreSQL holds events up to here and this log ends at \(try store.head().position)")
        }
        guard ours.hash == checkpoint.hash else {
            throw ShipError.forked(
                position: checkpoint.position.rawValue,
                reason: "PostgreSQL's event has hash \(checkpoint.hash.hex) and this log's \(ours.hash.hex)")
        }
    }

    /// Follows the log for as long as the task runs: ships what is there, waits for more. A
    /// PostgreSQL that cannot be reached is retried (after 0.5 s, doubling to 10 s) without ever
    /// holding up the log's writers; a forked history stops it for good.
    ///
    /// With `poll`, new events are looked for at that interval (a log another process writes);
    /// without, the store's own head tells (the daemon's log, in the daemon).
    public func follow(poll: Duration? = nil) async throws {
        var pause = Duration.milliseconds(500)
        var lastWarning = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled {
            do {
                let storeClosed = try await withConnection(connect) { connection in
                    progress.connected()
                    pause = .milliseconds(500)
                    while !Task.isCancelled {
                        let head = try store.head().position
                        let (count, position) = try await withBatchDeadline(connection) {
                            try await self.shipBatch(connection, upTo: head)
                        }
                        if count > 0 {
                            let lag = lag()
                            if lag.events > 10_000 || lag.seconds > 5, ContinuousClock.now - lastWarning > .seconds(30) {
                                lastWarning = ContinuousClock.now
                                logger.warning(
                                    "shipping to \(target) is behind by \(lag.events) events (\(String(format: "%.1f", lag.seconds)) s)")
                            }
                            continue
                        }
                        if let poll {
                            try await Task.sleep(for: poll)
                        } else if await store.waitForEvents(after: position) == nil {
                            return true
                        }
                    }
                    return false
                }
                if storeClosed { return }
            } catch let error as ShipError {
                progress.failed(error.description)
                logger.error("\(error)")
                throw error
            } catch {
                guard !Task.isCancelled else { return }
                let reason = Shipper.describe(error)
                progress.failed(reason)
                logger.warning("shipping to \(target) paused: \(reason); retrying in \(pause)")
                try? await Task.sleep(for: pause)
                pause = min(pause * 2, .seconds(10))
            }
        }
    }

    /// How long one batch may take before its connection is given up for a new one.
    static let batchDeadline = Duration.seconds(60)

    /// Runs `batch`, closing `connection` if it has not finished by the deadline (a server gone
    /// without a word leaves a query waiting forever otherwise), which makes it throw.
    func withBatchDeadline<T: Sendable>(
        _ connection: PostgresConnection, _ batch: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await batch() }
            group.addTask {
                try? await Task.sleep(for: Shipper.batchDeadline)
                if !Task.isCancelled { try? await connection.close() }
                return nil
            }
            defer { group.cancelAll() }
            while let next = try await group.next() {
                if let value = next { return value }
            }
            throw ShipConnectionError(description: "a batch took longer than \(Shipper.batchDeadline)")
        }
    }

    /// How far PostgreSQL is behind the log: events not yet shipped, and how long ago the oldest
    /// of them was recorded.
    public func lag() -> (events: UInt64, seconds: Double) {
        guard let head = try? store.head().position else { return (0, 0) }
        let shipped = progress.position
        guard head > shipped, let next = try? store.event(at: shipped + 1) else { return (0, 0) }
        let seconds = Double(Timestamp.now().microsecondsSince1970 - next.recordedAt.microsecondsSince1970) / 1e6
        return (head.rawValue - shipped.rawValue, max(0, seconds))
    }

    /// The shipper as `system.status` shows it.
    public func status() -> JSON {
        let lag = lag()
        let state = progress.snapshot
        return .object([
            "target": .string(target.description), "shippedPosition": .int(Int64(state.position.rawValue)),
            "lagEvents": .int(Int64(lag.events)), "lagSeconds": .double((lag.seconds * 1000).rounded() / 1000),
            "connected": .bool(state.connected), "lastError": state.lastError.map(JSON.string) ?? .null,
        ])
    }
}

/// Runs `body` on a connection `open` makes, and closes it after, whatever `body` did.
func withConnection<T>(
    _ open: () async throws -> PostgresConnection, _ body: (PostgresConnection) async throws -> T
) async throws -> T {
    let connection = try await open()
    do {
        let result = try await body(connection)
        try? await connection.close()
        return result
    } catch {
        try? await connection.close()
        throw error
    }
}

/// PostgreSQL could not be reached or a batch failed there: retried on a new connection.
struct ShipConnectionError: Error, CustomStringConvertible {
    let description: String
}

/// What the shipper has done so far, read by `system.status` from other threads.
final class ShipProgress: @unchecked Sendable {
    private let lock = NSLock()
    private var state = (position: Position(0), connected: false, lastError: String?.none)

    var position: Position {
        lock.lock()
        defer { lock.unlock() }
        return state.position
    }

    var snapshot: (position: Position, connected: Bool, lastError: String?) {
        lock.lock()
        defer { lock.unlock() }
        return state
    }

    func shipped(_ position: Position) {
        lock.lock()
        state.position = position
        state.lastError = nil
        lock.unlock()
    }

    func connected() {
        lock.lock()
        state.connected = true
        lock.unlock()
    }

    func failed(_ reason: String) {
        lock.lock()
        state.connected = false
        state.lastError = reason
        lock.unlock()
    }
}
