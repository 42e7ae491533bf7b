/// An event not yet recorded: its type, schema version and opaque payload.
public struct ProposedEvent: Hashable, Sendable {
    /// Event type, e.g. `CallLogged`.
    public var type: String
    /// Version of the payload's schema, from 1.
    public var schema: UInt32
    /// The payload; the store never interprets it.
    public var data: [UInt8]

    /// Describes one event to append.
    public init(type: String, schema: UInt32 = 1, data: [UInt8]) {
        self.type = type
        self.schema = schema
        self.data = data
    }
}

/// Events for one stream inside an append, with the version the stream is expected to be at.
public struct StreamAppend: Hashable, Sendable {
    /// The stream, e.g. `customer-c42`.
    public var stream: StreamName
    /// The append fails with `wrongExpectedVersion` unless the stream is at this version.
    public var expected: ExpectedVersion
    /// At least one event, recorded in this order.
    public var events: [ProposedEvent]

    /// Names the stream, its expected version and the events to add to it.
    public init(stream: StreamName, expected: ExpectedVersion = .any, events: [ProposedEvent]) {
        self.stream = stream
        self.expected = expected
        self.events = events
    }
}

/// A stream an append reads but does not write: the append fails unless it is at `expected`.
///
/// Lets a decision that relied on another stream's state (a customer not forgotten, an agent
/// still employed) commit only if that state still holds, without writing to that stream.
public struct StreamCondition: Hashable, Sendable {
    /// The stream checked.
    public var stream: StreamName
    /// The version it must be at.
    public var expected: ExpectedVersion

    /// Names the stream and the version it must be at.
    public init(stream: StreamName, expected: ExpectedVersion) {
        self.stream = stream
        self.expected = expected
    }
}

/// One atomic unit of writing: events for one or more streams, all recorded or none.
public struct AppendRequest: Hashable, Sendable {
    /// The streams written; each stream appears once.
    public var appends: [StreamAppend]
    /// Streams read but not written, checked in the same transaction; none of them is written.
    public var conditions: [StreamCondition] = []
    /// Who caused the events.
    public var actor: Actor
    /// Idempotency key: a request id seen before returns the first result and writes nothing.
    public var requestId: String?
    /// Groups events caused by one user intent across requests.
    public var correlationId: String?
    /// The event or request that caused this one.
    public var causationId: String?
    /// When a restore's events were first recorded (`EventStore.restore`); nil for every other
    /// append, which is recorded now.
    public internal(set) var recordedAt: Timestamp?

    /// Builds a request writing to several streams at once.
    public init(
        appends: [StreamAppend], conditions: [StreamCondition] = [], actor: Actor = .system, requestId: String? = nil,
        correlationId: String? = nil, causationId: String? = nil
    ) {
        self.appends = appends
        self.conditions = conditions
        self.actor = actor
        self.requestId = requestId
        self.correlationId = correlationId
        self.causationId = causationId
    }

    /// Builds a request writing to one stream.
    public init(
        stream: StreamName, expected: ExpectedVersion = .any, events: [ProposedEvent], actor: Actor = .system,
        requestId: String? = nil, correlationId: String? = nil, causationId: String? = nil
    ) {
        self.init(
            appends: [StreamAppend(stream: stream, expected: expected, events: events)], actor: actor,
            requestId: requestId, correlationId: correlationId, causationId: causationId)
    }

    /// Total number of events in the request.
    public var eventCount: Int { appends.reduce(0) { $0 + $1.events.count } }
}

/// What one stream of an append wrote.
public struct StreamAppendResult: Hashable, Sendable {
    /// The stream written.
    public var stream: StreamName
    /// Version of its first new event.
    public var firstVersion: StreamVersion
    /// Version of its last new event: the stream's version after the append.
    public var lastVersion: StreamVersion
    /// Position of its first new event.
    public var firstPosition: Position
    /// Position of its last new event.
    public var lastPosition: Position

    /// Describes what was written to one stream.
    public init(
        stream: StreamName, firstVersion: StreamVersion, lastVersion: StreamVersion, firstPosition: Position,
        lastPosition: Position
    ) {
        self.stream = stream
        self.firstVersion = firstVersion
        self.lastVersion = lastVersion
        self.firstPosition = firstPosition
        self.lastPosition = lastPosition
    }
}

/// What an append wrote, returned only once the events are durable.
public struct AppendResult: Hashable, Sendable {
    /// Per stream, in the order of the request.
    public var streams: [StreamAppendResult]
    /// When the log stored the events.
    public var recordedAt: Timestamp
    /// True when the request id had been seen: nothing new was written, this is the first result.
    public var duplicate: Bool

    /// Position of the request's first event.
    public var firstPosition: Position { streams.map(\.firstPosition).min() ?? 0 }
    /// Position of the request's last event.
    public var lastPosition: Position { streams.map(\.lastPosition).max() ?? 0 }
}
