import CRMEvents
import EventStore
import JSONKit
import KeyValue

/// One event as projections see it: the stored envelope and, for CRM events, the decoded payload.
///
/// A class, because every projection's fold and every batch holds it: a copy of a struct this
/// size retained each of its strings and arrays, which was an eighth of a rebuild's fold.
public final class ProjectedEvent: Sendable {
    /// The event as the log stores it.
    public let recorded: RecordedEvent
    /// The payload decoded and upcast to the current schema; nil for events that are not CRM events.
    public let event: CRMEvent?
    /// When it happened (business time); the recorded time for events that are not CRM events.
    public let at: Timestamp

    /// Pairs an envelope with its decoded fact.
    public init(recorded: RecordedEvent, fact: Fact?) {
        self.recorded = recorded
        self.event = fact?.event
        self.at = fact?.at ?? recorded.recordedAt
    }

    /// Decodes `recorded`; events of unknown types (not the CRM's) project as nil, events of a
    /// known type that cannot be read (a schema version from newer code) throw.
    public convenience init(_ recorded: RecordedEvent) throws(EventDecodingError) {
        self.init(
            recorded: recorded,
            fact: EventCatalogue.isKnown(type: recorded.type) ? try EventCatalogue.fact(recorded) : nil)
    }
}

/// A read model folded from the log. `apply` must be deterministic: replaying gives the same state.
///
/// State lives in the projection's own tables of `DIR/projections`; the projector writes it and
/// the projection's checkpoint in one transaction, so each event is applied exactly once.
public protocol Projection: Sendable {
    /// Unique name; also what `crmd rebuild NAME` and `system.status` call it.
    static var name: String { get }
    /// Bump to have the projection rebuilt from position 1 on the next start.
    static var version: Int { get }
    /// The tables it owns (cleared when it is rebuilt).
    static var tables: [String] { get }
    /// Folds one event into the projection's tables.
    func apply(_ event: ProjectedEvent, in txn: KeyValueTransaction) throws
    /// Work on one event that needs none of the projection's tables (opening sealed values,
    /// hashing search tokens), which the projector may do ahead, on another thread, while the
    /// previous batch folds; nil when there is none or it could not be done.
    func prepare(_ event: ProjectedEvent) -> (any Sendable)?
    /// `apply`, given what `prepare` returned for the event (nil: do that work here).
    func apply(_ event: ProjectedEvent, prepared: (any Sendable)?, in txn: KeyValueTransaction) throws
}

extension Projection {
    /// Most projections have nothing to do ahead.
    public func prepare(_ event: ProjectedEvent) -> (any Sendable)? { nil }
    /// Folds without prepared work.
    public func apply(_ event: ProjectedEvent, prepared: (any Sendable)?, in txn: KeyValueTransaction) throws {
        try apply(event, in: txn)
    }

    /// The type's name, reachable from an existential.
    var name: String { Self.name }
    /// The type's version, reachable from an existential.
    var version: Int { Self.version }
    /// The type's tables, reachable from an existential.
    var tables: [String] { Self.tables }
}
