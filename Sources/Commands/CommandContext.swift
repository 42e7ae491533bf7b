import CRMEvents
import EventStore
import JSONKit

/// Who sends a command and how it is to be applied (the request fields of docs/protocol.md beside `args`).
public struct CommandContext: Sendable {
    /// The principal and OS uid the events are recorded as caused by.
    public var actor: Actor
    /// Idempotency key: the same id applied twice writes once.
    public var requestId: String?
    /// The command fails with `conflict` unless its target stream is at this version.
    public var expectedVersion: StreamVersion?
    /// Tracing across requests.
    public var correlationId: String?
    /// What caused this request.
    public var causationId: String?

    /// Describes a request's context.
    public init(
        actor: Actor = .system, requestId: String? = nil, expectedVersion: StreamVersion? = nil,
        correlationId: String? = nil, causationId: String? = nil
    ) {
        self.actor = actor
        self.requestId = requestId
        self.expectedVersion = expectedVersion
        self.correlationId = correlationId
        self.causationId = causationId
    }
}

/// What a command wrote: its target stream, that stream's new version, and the events.
public struct CommandResult: Equatable, Sendable {
    /// The command's target stream, e.g. `invoice-i7`.
    public var stream: StreamName
    /// The id of the entity the command created or acted on (generated when the client sent none).
    public var id: String
    /// The target stream's version after the command.
    public var version: StreamVersion
    /// Position of the last event written.
    public var position: Position
    /// Types of the events written, in log order (every stream of the commit).
    public var events: [String]
    /// Other streams the same commit wrote (e.g. each customer `agent.leave` reassigned).
    public var alsoWrote: [StreamName]
    /// True when the request id had been applied before and this is the first result.
    public var duplicate: Bool

    /// The result object of docs/protocol.md.
    public var json: JSON {
        var object: JSONObject = [
            "stream": .string(stream.rawValue), "id": .string(id), "version": .int(Int64(version)),
            "position": .int(Int64(position)), "events": .array(events.map(JSON.string)),
        ]
        if !alsoWrote.isEmpty { object["alsoWrote"] = .array(alsoWrote.map { .string($0.rawValue) }) }
        if duplicate { object["duplicate"] = true }
        return .object(object)
    }
}
