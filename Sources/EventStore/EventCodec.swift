// The stored encoding of an event, format 1. docs/storage.md describes it for readers in
// other languages; any change here is a new format number, never an edit of format 1.
//
//   offset  size  field
//   0       1     format (1)
//   1       8     position            big-endian unsigned
//   9       8     stream version      big-endian unsigned
//   17      8     recordedAt          big-endian signed, microseconds since 1970 UTC
//   25      4     schema              big-endian unsigned
//   29      4     actor uid           big-endian unsigned, 0xFFFFFFFF = none
//   33      2×6   lengths of stream, type, actor principal, requestId, correlationId, causationId
//   45      4     length of data
//   49      32    prevHash
//   81      ...   stream, type, principal, requestId, correlationId, causationId (UTF-8), data
//   end-32  32    hash = SHA-256 of every byte before it

/// Encodes and decodes events in stored format 1.
enum EventCodec {
    static let format: UInt8 = 1
    static let headerSize = 81
    static let hashSize = 32
    static let noUID: UInt32 = .max
    static let recordedAtOffset = 17
    static let positionOffset = 1

    /// The envelope fields of an event being written.
    struct Envelope {
        var position: Position
        var version: StreamVersion
        var recordedAt: Timestamp
        var stream: StreamName
        var actor: Actor
        var requestId: String?
        var correlationId: String?
        var causationId: String?
        var prevHash: EventHash
    }

    /// Appends the stored bytes of one event to `buffer` (cleared first) and returns its hash.
    static func encode(_ event: ProposedEvent, _ envelope: Envelope, into buffer: inout [UInt8]) -> EventHash {
        buffer.removeAll(keepingCapacity: true)
        let requestId = envelope.requestId ?? "", correlationId = envelope.correlationId ?? ""
        let causationId = envelope.causationId ?? ""
        buffer.append(format)
        append(envelope.position.rawValue, to: &buffer)
        append(envelope.version.rawValue, to: &buffer)
        append(UInt64(bitPattern: envelope.recordedAt.microsecondsSince1970), to: &buffer)
        append(event.schema, to: &buffer)
        append(envelope.actor.uid ?? noUID, to: &buffer)
        append(UInt16(envelope.stream.rawValue.utf8.count), to: &buffer)
        append(UInt16(event.type.utf8.count), to: &buffer)
        append(UInt16(envelope.actor.principal.utf8.count), to: &buffer)
        append(UInt16(requestId.utf8.count), to: &buffer)
        append(UInt16(correlationId.utf8.count), to: &buffer)
        append(UInt16(causationId.utf8.count), to: &buffer)
        append(UInt32(event.data.count), to: &buffer)
        envelope.prevHash.append(to: &buffer)
        buffer.append(contentsOf: envelope.stream.rawValue.utf8)
        buffer.append(contentsOf: event.type.utf8)
        buffer.append(contentsOf: envelope.actor.principal.utf8)
        buffer.append(contentsOf: requestId.utf8)
        buffer.append(contentsOf: correlationId.utf8)
        buffer.append(contentsOf: causationId.utf8)
        buffer.append(contentsOf: event.data)
        let hash = buffer.withUnsafeBytes { EventHash.of($0) }
        hash.append(to: &buffer)
        return hash
    }

    /// Decodes stored bytes; throws `corrupted` when the layout does not add up.
    static func decode(_ bytes: UnsafeRawBufferPointer, expectedPosition: Position?) throws -> RecordedEvent {
        let where_ = expectedPosition
        guard bytes.count >= headerSize + hashSize else {
            throw StoreError.corrupted(
                position: where_, reason: "stored event is \(bytes.count) bytes, shorter than its header")
        }
        guard bytes[0] == format else {
            throw StoreError.corrupted(position: where_, reason: "unknown stored format \(bytes[0])")
        }
        let position = Position(rawValue: u64(bytes, 1))
        let layout = Layout(bytes)
        guard layout.end + hashSize == bytes.count else {
            throw StoreError.corrupted(
                position: where_ ?? position,
                reason: "field lengths add up to \(layout.end + hashSize) bytes, but \(bytes.count) are stored")
        }
        let stream = text(bytes, layout.stream)
        let type = text(bytes, layout.type)
        let principal = text(bytes, layout.principal)
        let requestId = layout.requestId.isEmpty ? nil : text(bytes, layout.requestId)
        let correlationId = layout.correlationId.isEmpty ? nil : text(bytes, layout.correlationId)
        let causationId = layout.causationId.isEmpty ? nil : text(bytes, layout.causationId)
        let data = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[layout.data]))
        let uid = u32(bytes, 29)
        return RecordedEvent(
            position: position, stream: StreamName(rawValue: stream), version: StreamVersion(rawValue: u64(bytes, 9)),
            type: type, schema: u32(bytes, 25),
            recordedAt: Timestamp(microsecondsSince1970: Int64(bitPattern: u64(bytes, 17))),
            actor: Actor(principal: principal, uid: uid == noUID ? nil : uid),
            requestId: requestId, correlationId: correlationId, causationId: causationId, data: data,
            prevHash: EventHash(loading: bytes, at: 49), hash: EventHash(loading: bytes, at: bytes.count - hashSize))
    }

    /// Where the variable fields of a stored event lie, from the lengths in its header.
    ///
    /// Offsets are computed straight through: a helper mutating a captured offset would cost a
    /// dynamic exclusivity check per field on the read path.
    struct Layout {
        let stream, type, principal, requestId, correlationId, causationId, data: Range<Int>

        /// Reads the lengths; `bytes` must hold at least the fixed header.
        init(_ bytes: UnsafeRawBufferPointer) {
            let streamEnd = headerSize + Int(u16(bytes, 33))
            let typeEnd = streamEnd + Int(u16(bytes, 35))
            let principalEnd = typeEnd + Int(u16(bytes, 37))
            let requestEnd = principalEnd + Int(u16(bytes, 39))
            let correlationEnd = requestEnd + Int(u16(bytes, 41))
            let causationEnd = correlationEnd + Int(u16(bytes, 43))
            stream = headerSize..<streamEnd
            type = streamEnd..<typeEnd
            principal = typeEnd..<principalEnd
            requestId = principalEnd..<requestEnd
            correlationId = requestEnd..<correlationEnd
            causationId = correlationEnd..<causationEnd
            data = causationEnd..<causationEnd + Int(u32(bytes, 45))
        }

        /// Where the variable fields end and the hash begins.
        var end: Int { data.upperBound }
    }

    /// The hash stored at the end of an event.
    static func storedHash(_ bytes: UnsafeRawBufferPointer) -> EventHash {
        EventHash(loading: bytes, at: bytes.count - hashSize)
    }

    /// Recomputes the hash over the stored bytes (everything but the trailing hash).
    static func computedHash(_ bytes: UnsafeRawBufferPointer) -> EventHash {
        EventHash.of(UnsafeRawBufferPointer(rebasing: bytes[0..<bytes.count - hashSize]))
    }

    /// The recordedAt field, read without decoding the rest.
    static func recordedAt(_ bytes: UnsafeRawBufferPointer) -> Timestamp {
        Timestamp(microsecondsSince1970: Int64(bitPattern: u64(bytes, recordedAtOffset)))
    }

    @inline(__always) static func text(_ b: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[range]), as: UTF8.self)
    }

    @inline(__always) static func u64(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt64 {
        UInt64(bigEndian: b.loadUnaligned(fromByteOffset: at, as: UInt64.self))
    }

    @inline(__always) static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(bigEndian: b.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    @inline(__always) static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 {
        UInt16(bigEndian: b.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    @inline(__always) static func append<T: FixedWidthInteger>(_ value: T, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }
}
