import EventStore
import Foundation
import JSONKit

/// The wire and replay form of a recorded event: the envelope of docs/protocol.md as one JSON object.
public enum Envelope {
    /// The event as a JSON object, fields in the order docs/protocol.md lists them.
    ///
    /// `data` is the payload as JSON when it is JSON (CRM events always are); any other payload
    /// is given as `dataBase64`, so no byte is lost.
    public static func json(_ event: RecordedEvent) -> JSON {
        var object: JSONObject = [
            "position": .int(Int64(event.position)), "stream": .string(event.stream.rawValue),
            "version": .int(Int64(event.version)),
            "type": .string(event.type), "schema": .int(Int64(event.schema)),
            "recordedAt": .string(event.recordedAt.rfc3339),
        ]
        var actor: JSONObject = ["principal": .string(event.actor.principal)]
        if let uid = event.actor.uid { actor["uid"] = .int(Int64(uid)) }
        object["actor"] = .object(actor)
        if let id = event.requestId { object["requestId"] = .string(id) }
        if let id = event.correlationId { object["correlationId"] = .string(id) }
        if let id = event.causationId { object["causationId"] = .string(id) }
        if let data = try? JSON.parse(event.data) {
            object["data"] = data
        } else {
            object["dataBase64"] = .string(Data(event.data).base64EncodedString())
        }
        object["prevHash"] = .string(event.prevHash.hex)
        object["hash"] = .string(event.hash.hex)
        return .object(object)
    }

    /// The event as one compact JSON line (no newline).
    public static func line(_ event: RecordedEvent) -> String { json(event).serialized() }
}
