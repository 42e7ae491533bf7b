import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue

/// Index of every event about each customer, across all streams (customer, quotes, invoices,
/// deals, follow-ups): `customerId, 0, position` → empty. The customer file, its history and
/// `asOf` are folds over these positions, so their cost follows the customer, not the log.
public struct CustomerTimeline: Projection {
    public static let name = "customer-timeline"
    public static let version = 1
    static let table = "customer-timeline"
    public static let tables = [table]

    /// Creates the projection.
    public init() {}

    public func apply(_ event: ProjectedEvent, in txn: KeyValueTransaction) throws {
        guard let customerId = event.event?.customerId else { return }
        try txn.put(Self.table, CustomerTimeline.key(customerId, event.recorded.position), [])
    }

    static func prefix(_ customerId: String) -> [UInt8] { Array(customerId.utf8) + [0] }

    static func key(_ customerId: String, _ position: Position) -> [UInt8] {
        prefix(customerId) + withUnsafeBytes(of: UInt64(position).bigEndian) { Array($0) }
    }

    static func position(_ key: [UInt8]) -> Position {
        Position(rawValue: key.suffix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
    }
}

/// Reads one customer's events through `CustomerTimeline`, including any the projector has not
/// folded yet, so a read is never behind the log.
public struct CustomerEventReader: Sendable {
    /// The log.
    public let store: EventStore
    /// The projector whose `CustomerTimeline` is used.
    public let projector: Projector

    /// Reads through `projector`'s index.
    public init(projector: Projector) {
        self.store = projector.store
        self.projector = projector
    }

    /// The customer's events up to `position` (inclusive), in log order.
    public func events(of customerId: String, upTo position: Position = .max) throws -> [ProjectedEvent] {
        let (indexed, checkpoint) = try projector.state.read { txn -> ([Position], Position) in
            var positions: [Position] = []
            try txn.scan(CustomerTimeline.table, prefix: CustomerTimeline.prefix(customerId)) { key, _ in
                let at = CustomerTimeline.position(key)
                guard at <= position else { return false }
                positions.append(at)
                return true
            }
            // The checkpoint from the same snapshot as the index, so nothing falls between the two.
            return (positions, try Projector.checkpoint(CustomerTimeline.name, txn)?.position ?? 0)
        }
        var events = try store.events(at: indexed).map { try ProjectedEvent($0) }
        if checkpoint < position {
            // The few events committed since the projector's last batch.
            try store.scan(from: checkpoint + 1, to: position) { recorded in
                let event = try ProjectedEvent(recorded)
                if event.event?.customerId == customerId { events.append(event) }
                return true
            }
        }
        return events
    }

    /// The customer's events as the log knew them at recorded time `time`.
    public func events(of customerId: String, asOf time: Timestamp) throws -> [ProjectedEvent] {
        let position = try store.position(asOf: time)
        return position == 0 ? [] : try events(of: customerId, upTo: position)
    }
}
