/// An event as stored in the log: the envelope of docs/protocol.md and the payload bytes.
public struct RecordedEvent: Hashable, Sendable {
    /// Global, gap-free position from 1.
    public let position: Position
    /// The stream the event belongs to.
    public let stream: StreamName
    /// The event's version in its stream, from 1.
    public let version: StreamVersion
    /// Event type, e.g. `CallLogged`.
    public let type: String
    /// Schema version of `data`.
    public let schema: UInt32
    /// When the log stored the event; never decreases along the log.
    public let recordedAt: Timestamp
    /// Who caused it.
    public let actor: Actor
    /// The idempotency key of the request that wrote it.
    public let requestId: String?
    /// Tracing: the user intent it belongs to.
    public let correlationId: String?
    /// Tracing: what caused it.
    public let causationId: String?
    /// The payload, exactly as appended.
    public let data: [UInt8]
    /// Hash of the previous event (`EventHash.genesis` at position 1).
    public let prevHash: EventHash
    /// SHA-256 of this event's stored bytes, which include `prevHash`.
    public let hash: EventHash
}
