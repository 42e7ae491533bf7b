import EventStore
import Foundation
import Logging
import NIOCore
import PostgresNIO

/// Rebuilds an LMDB log from `crmd_events`: every event appended again with its original
/// envelope (stream, version, time, actor, request id) and exact payload, in position order,
/// and its hash checked against PostgreSQL's as it goes.
public struct Restorer: Sendable {
    /// Where the shipped log is.
    public let source: PostgresTarget
    /// Rows read per round trip.
    public let pageSize: Int
    let logger: Logger

    /// A restore from `source`.
    public init(source: PostgresTarget, pageSize: Int = 10_000, logger: Logger) {
        self.source = source
        self.pageSize = pageSize
        self.logger = logger
    }

    /// Restores into `store` (empty); `progress` hears the position reached after each page.
    /// Returns the number of events and the head hash.
    public func restore(into store: EventStore, progress: (UInt64) -> Void = { _ in }) async throws -> (
        events: UInt64, head: EventHash
    ) {
        guard try store.head().position == 0 else {
            throw ShipError.corrupted(position: 0, reason: "the log to restore into is not empty")
        }
        let source = source
        let logger = logger
        return try await withConnection({
            try await PostgresConnection.connect(configuration: source.configuration, id: 1, logger: logger)
        }) { connection in
            var after: Int64 = 0
            var restored: UInt64 = 0
            var expectedPrevious = EventHash.genesis
            var carried: [RecordedEvent] = []
            while true {
                let fetched = try await page(connection, after: after)
                var rows = carried + fetched
                guard !rows.isEmpty else { break }
                carried = []
                if let last = fetched.last, fetched.count == pageSize, last.requestId != nil {
                    // The page may end inside one request: its events go with the next page, so that
                    // the request is appended whole (a request id is accepted once).
                    let tail = rows.reversed().prefix { Restorer.sameRequest($0, last) }.count
                    if tail < rows.count {
                        carried = Array(rows.suffix(tail))
                        rows.removeLast(tail)
                    }
                }
                after = fetched.last.map { Int64($0.position.rawValue) } ?? after
                for row in rows {
                    guard row.position.rawValue == restored + 1 else {
                        throw ShipError.corrupted(
                            position: restored + 1, reason: "missing from crmd_events (the next row is \(row.position))")
                    }
                    guard row.prevHash == expectedPrevious else {
                        throw ShipError.corrupted(
                            position: row.position.rawValue, reason: "does not chain onto the event before it")
                    }
                    expectedPrevious = row.hash
                    restored += 1
                }
                _ = try await store.restore(Restorer.requests(rows))
                // Each hash covers the one before it, and the rows were checked to chain: the new
                // log's head equal to the page's last row means every event of the page hashed to
                // what PostgreSQL holds. Only a mismatch is worth reading back, to name where.
                let head = try store.head()
                let last = rows[rows.count - 1]
                if head.position != last.position || head.hash != last.hash {
                    let written = try store.read(from: rows[0].position, limit: rows.count)
                    let bad = zip(rows, written).first { $0.hash != $1.hash }
                    throw ShipError.corrupted(
                        position: (bad?.0 ?? last).position.rawValue,
                        reason: "restored as \(bad?.1.hash.hex ?? head.hash.hex), PostgreSQL holds \((bad?.0 ?? last).hash.hex)")
                }
                progress(restored)
            }
            return (restored, try store.head().hash)
        }
    }

    /// Whether two rows were recorded together by one actor under one request id.
    static func sameRequest(_ a: RecordedEvent, _ b: RecordedEvent) -> Bool {
        a.actor == b.actor && a.requestId == b.requestId && a.correlationId == b.correlationId
            && a.causationId == b.causationId && a.recordedAt == b.recordedAt
    }

    /// The next rows after position `after`, in order.
    func page(_ connection: PostgresConnection, after: Int64) async throws -> [RecordedEvent] {
        let limit = Int64(pageSize)
        let rows = try await connection.query(
            """
            SELECT position, stream, version, type, schema, (extract(epoch FROM recorded_at) * 1000000)::bigint,
                   actor, actor_uid, request_id, correlation_id, causation_id, payload, prev_hash, hash
            FROM crmd_events WHERE position > \(after) ORDER BY position LIMIT \(limit)
            """, logger: logger)
        var result: [RecordedEvent] = []
        for try await row in rows {
            let (position, stream, version, type, schema, micros, actor, uid, requestId, correlationId, causationId) =
                try row.decode(
                    (Int64, String, Int64, String, Int32, Int64, String, Int64?, String?, String?, String?).self,
                    context: .default)
            let columns = row.makeRandomAccess()
            let payload = try columns[11].decode(ByteBuffer.self, context: .default)
            let prev = try columns[12].decode(ByteBuffer.self, context: .default)
            let hash = try columns[13].decode(ByteBuffer.self, context: .default)
            guard let prevHash = EventHash(bytes: Array(buffer: prev)), let hash = EventHash(bytes: Array(buffer: hash))
            else { throw ShipError.corrupted(position: UInt64(position), reason: "a hash is not 32 bytes") }
            result.append(
                RecordedEvent(
                    position: Position(position), stream: StreamName(stream), version: StreamVersion(version), type: type,
                    schema: UInt32(schema), recordedAt: Timestamp(microsecondsSince1970: micros),
                    actor: Actor(principal: actor, uid: uid.map { UInt32($0) }), requestId: requestId,
                    correlationId: correlationId, causationId: causationId, data: Array(buffer: payload),
                    prevHash: prevHash, hash: hash))
        }
        return result
    }

    /// The rows as appends: consecutive events recorded together by one actor under one request
    /// id form one request, a stream's consecutive events one append of it. Where the original
    /// requests began and ended is not in the log, and need not be: the bytes of each event, and
    /// so every hash, depend only on its own envelope.
    static func requests(_ rows: [RecordedEvent]) -> [(request: AppendRequest, recordedAt: Timestamp)] {
        var requests: [(request: AppendRequest, recordedAt: Timestamp)] = []
        var current: AppendRequest?
        var currentTime = Timestamp(microsecondsSince1970: 0)
        for row in rows {
            let event = ProposedEvent(type: row.type, schema: row.schema, data: row.data)
            let stream = row.stream
            if var request = current, request.actor == row.actor, request.requestId == row.requestId,
                request.correlationId == row.correlationId, request.causationId == row.causationId,
                currentTime == row.recordedAt
            {
                // One stream's events are contiguous within a request: a stream seen earlier in
                // it starts a new request (which only happens for requests without an id).
                if request.appends.last?.stream == stream {
                    request.appends[request.appends.count - 1].events.append(event)
                    current = request
                    continue
                }
                if !request.appends.contains(where: { $0.stream == stream }) {
                    request.appends.append(StreamAppend(stream: stream, events: [event]))
                    current = request
                    continue
                }
            }
            if let request = current { requests.append((request, currentTime)) }
            current = AppendRequest(
                appends: [StreamAppend(stream: stream, events: [event])], actor: row.actor, requestId: row.requestId,
                correlationId: row.correlationId, causationId: row.causationId)
            currentTime = row.recordedAt
        }
        if let request = current { requests.append((request, currentTime)) }
        return requests
    }
}
