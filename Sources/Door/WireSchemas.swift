import JSONKit

/// Schemas of what crosses the socket and of the stored-event envelope (docs/protocol.md).
public enum WireSchemas {
    /// The error codes of docs/protocol.md, as the response schema lists them.
    public static let errorCodes = ErrorCode.allCases.map(\.rawValue)

    static let anyObject = Schema.object(ObjectRule([], required: [], open: true))
    static let requestID = Schema.anyOf([.string(StringRule(maxLength: 128)), .number])

    /// One request line.
    public static let request = Schema.record(
        [
            "id": requestID, "op": .text(64), "args": anyObject, "requestId": .text(128),
            "expectedVersion": .integer(minimum: 0, maximum: nil), "as": .id, "correlationId": .text(128),
            "causationId": .text(128),
        ], required: ["id", "op"])

    /// One response line: a result or an error.
    public static let response = Schema.anyOf([
        .record(
            ["id": .nullable(requestID), "ok": .constant(true), "result": anyObject], required: ["id", "ok", "result"]),
        .record(
            [
                "id": .nullable(requestID), "ok": .constant(false),
                "error": .record(
                    [
                        "code": .choice(errorCodes), "message": .text(10_000), "path": .string(StringRule()),
                        "rule": .matching(.id),
                    ], required: ["code", "message"]),
            ], required: ["id", "ok", "error"]),
    ])

    /// A recorded event as `log.read`, `log.subscribe` and `crmd replay --format jsonl` give it.
    public static let eventEnvelope = Schema.record(
        [
            "position": .integer(minimum: 1, maximum: nil), "stream": .text(200),
            "version": .integer(minimum: 1, maximum: nil),
            "type": .text(128), "schema": .integer(minimum: 1, maximum: nil), "recordedAt": .dateTime,
            "actor": .record(
                ["principal": .text(128), "uid": .integer(minimum: 0, maximum: 4_294_967_295)], required: ["principal"]),
            "requestId": .text(256), "correlationId": .text(256), "causationId": .text(256),
            "data": .described(anyObject, "The payload; valid against schemas/events/<type>.v<schema>.json."),
            "dataBase64": .string(StringRule()), "prevHash": .matching(.sha256), "hash": .matching(.sha256),
        ], required: ["position", "stream", "version", "type", "schema", "recordedAt", "actor", "prevHash", "hash"])
}
