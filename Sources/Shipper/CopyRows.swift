import Foundation
import EventStore
import NIOCore

/// Recorded events as lines of PostgreSQL's COPY text format, in the column order of `columns`.
enum CopyRows {
    /// The columns of `crmd_events` a shipped row fills, in order.
    static let columns = [
        "position", "stream", "version", "type", "schema", "recorded_at", "actor", "actor_uid", "request_id",
        "correlation_id", "causation_id", "data", "payload", "prev_hash", "hash",
    ]

    /// Appends `event` as one line.
    static func append(_ event: RecordedEvent, to buffer: inout ByteBuffer) {
        buffer.writeString(String(event.position.rawValue))
        buffer.writeInteger(UInt8(ascii: "\t"))
        text(event.stream.rawValue, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(event.version.rawValue))
        buffer.writeInteger(UInt8(ascii: "\t"))
        text(event.type, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(String(event.schema))
        buffer.writeInteger(UInt8(ascii: "\t"))
        buffer.writeString(event.recordedAt.rfc3339)
        buffer.writeInteger(UInt8(ascii: "\t"))
        text(event.actor.principal, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        if let uid = event.actor.uid { buffer.writeString(String(uid)) } else { buffer.writeString("\\N") }
        for optional in [event.requestId, event.correlationId, event.causationId] {
            buffer.writeInteger(UInt8(ascii: "\t"))
            if let value = optional { text(value, to: &buffer) } else { buffer.writeString("\\N") }
        }
        buffer.writeInteger(UInt8(ascii: "\t"))
        json(event.data, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        bytea(event.data, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        bytea(event.prevHash.bytes, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\t"))
        bytea(event.hash.bytes, to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// A text value with COPY's escapes for backslash, tab, newline and carriage return.
    static func text(_ value: String, to buffer: inout ByteBuffer) {
        escaped(value.utf8, to: &buffer)
    }

    /// The event's JSON payload for the `jsonb` column. jsonb cannot hold the character U+0000,
    /// which JSON may escape as `\u0000`: that one becomes U+FFFD in `data` (for BI); the exact
    /// bytes stay in `payload`, from which a restore rebuilds the log.
    static func json(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        escaped(withoutEscapedNUL(bytes) ?? bytes, to: &buffer)
    }

    /// JSON text with each `\u0000` escape written `\ufffd`; nil when it has none (nearly always:
    /// only backslashes are looked at, as every event passes through here).
    static func withoutEscapedNUL(_ bytes: [UInt8]) -> [UInt8]? {
        let nul = Array("u0000".utf8)
        var copy: [UInt8]?
        var index = 0
        while index + 1 < bytes.count {
            guard bytes[index] == UInt8(ascii: "\\") else {
                index += 1
                continue
            }
            // An escape: `\\` (a backslash) is two characters, `\uXXXX` six; skip it whole.
            if index + 6 <= bytes.count, bytes[(index + 1)..<(index + 6)].elementsEqual(nul) {
                if copy == nil { copy = bytes }
                copy?.replaceSubrange((index + 2)..<(index + 6), with: Array("fffd".utf8))
                index += 6
            } else {
                index += 2
            }
        }
        return copy
    }

    static func escaped(_ bytes: some Sequence<UInt8>, to buffer: inout ByteBuffer) {
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
            case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
            case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
            case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
            default: buffer.writeInteger(byte)
            }
        }
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A bytea in hex form (`\x…`), its backslash escaped for COPY.
    static func bytea(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeStaticString("\\\\x")
        for byte in bytes {
            buffer.writeInteger(hexDigits[Int(byte >> 4)])
            buffer.writeInteger(hexDigits[Int(byte & 0x0F)])
        }
    }
}
