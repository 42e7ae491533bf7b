import EventStore
import KeyValue

/// How many events of each type the log holds (`system.status` counts).
///
/// A counter is the simplest fold that is wrong if an event is applied twice or missed, which
/// also makes it the tests' witness of exactly-once folding across crashes.
public struct EventCounts: Projection {
    public static let name = "event-counts"
    public static let version = 1
    static let table = "event-counts"
    public static let tables = [table]

    /// Creates the projection.
    public init() {}

    public func apply(_ event: ProjectedEvent, in txn: KeyValueTransaction) throws {
        let key = Array(event.recorded.type.utf8)
        let count = try txn.get(Self.table, key).map(EventCounts.decode) ?? 0
        try txn.put(Self.table, key, withUnsafeBytes(of: (count + 1).bigEndian) { Array($0) })
    }

    static func decode(_ bytes: [UInt8]) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }

    /// Events per type, as of the projection's checkpoint.
    public static func counts(_ projector: Projector) throws -> [String: UInt64] {
        try projector.state.read { txn in
            var counts: [String: UInt64] = [:]
            try txn.scan(table, prefix: []) { key, value in
                counts[String(decoding: key, as: UTF8.self)] = decode(value)
                return true
            }
            return counts
        }
    }
}
