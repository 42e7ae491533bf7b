import EventStore
import Foundation

/// Renders recorded events as the JSON envelope of SPEC §3, one object per line.
enum EnvelopeJSON {
    /// One event as a compact JSON object, fields in the SPEC's order.
    ///
    /// `data` is embedded as JSON when the payload is JSON (it always is for CRM events);
    /// any other payload is given as `dataBase64` so no byte is lost.
    static func line(_ event: RecordedEvent) -> String {
        var out = "{"
        func field(_ name: String, _ json: String) {
            if out.count > 1 { out += "," }
            out += "\"\(name)\":\(json)"
        }
        field("position", String(event.position))
        field("stream", quote(event.stream))
        field("version", String(event.version))
        field("type", quote(event.type))
        field("schema", String(event.schema))
        field("recordedAt", quote(event.recordedAt.rfc3339))
        var actor = "{\"principal\":\(quote(event.actor.principal))"
        if let uid = event.actor.uid { actor += ",\"uid\":\(uid)" }
        field("actor", actor + "}")
        if let id = event.requestId { field("requestId", quote(id)) }
        if let id = event.correlationId { field("correlationId", quote(id)) }
        if let id = event.causationId { field("causationId", quote(id)) }
        if let json = embeddableJSON(event.data) {
            field("data", json)
        } else {
            field("dataBase64", quote(Data(event.data).base64EncodedString()))
        }
        field("prevHash", quote(event.prevHash.hex))
        field("hash", quote(event.hash.hex))
        return out + "}"
    }

    /// The payload as compact JSON text when it is a JSON value, else nil.
    static func embeddableJSON(_ bytes: [UInt8]) -> String? {
        guard let value = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
              let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A JSON string literal for `text`.
    static func quote(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
