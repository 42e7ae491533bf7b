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

    /// An event as a copy of the log holds it (a row shipped to PostgreSQL), to be restored.
    public init(
        position: Position, stream: StreamName, version: StreamVersion, type: String, schema: UInt32,
        recordedAt: Timestamp, actor: Actor, requestId: String?, correlationId: String?, causationId: String?,
        data: [UInt8], prevHash: EventHash, hash: EventHash
    ) {
        self.position = position
        self.stream = stream
        self.version = version
        self.type = type
        self.schema = schema
        self.recordedAt = recordedAt
        self.actor = actor
        self.requestId = requestId
        self.correlationId = correlationId
        self.causationId = causationId
        self.data = data
        self.prevHash = prevHash
        self.hash = hash
    }
}
