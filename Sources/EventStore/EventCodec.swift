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
        var stream: String
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
        append(envelope.position, to: &buffer)
        append(envelope.version, to: &buffer)
        append(UInt64(bitPattern: envelope.recordedAt.microsecondsSince1970), to: &buffer)
        append(event.schema, to: &buffer)
        append(envelope.actor.uid ?? noUID, to: &buffer)
        append(UInt16(envelope.stream.utf8.count), to: &buffer)
        append(UInt16(event.type.utf8.count), to: &buffer)
        append(UInt16(envelope.actor.principal.utf8.count), to: &buffer)
        append(UInt16(requestId.utf8.count), to: &buffer)
        append(UInt16(correlationId.utf8.count), to: &buffer)
        append(UInt16(causationId.utf8.count), to: &buffer)
        append(UInt32(event.data.count), to: &buffer)
        envelope.prevHash.append(to: &buffer)
        buffer.append(contentsOf: envelope.stream.utf8)
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
            throw StoreError.corrupted(position: where_, reason: "stored event is \(bytes.count) bytes, shorter than its header")
        }
        guard bytes[0] == format else {
            throw StoreError.corrupted(position: where_, reason: "unknown stored format \(bytes[0])")
        }
        let position = u64(bytes, 1)
        let streamLength = Int(u16(bytes, 33)), typeLength = Int(u16(bytes, 35)), principalLength = Int(u16(bytes, 37))
        let requestLength = Int(u16(bytes, 39)), correlationLength = Int(u16(bytes, 41)), causationLength = Int(u16(bytes, 43))
        let dataLength = Int(u32(bytes, 45))
        let total = headerSize + hashSize + streamLength + typeLength + principalLength + requestLength + correlationLength
            + causationLength + dataLength
        guard total == bytes.count else {
            throw StoreError.corrupted(position: where_ ?? position, reason: "field lengths add up to \(total) bytes, but \(bytes.count) are stored")
        }
        // Offsets are computed up front: a nested function mutating a captured offset would cost
        // a dynamic exclusivity check per field on this hot path.
        let streamStart = headerSize
        let typeStart = streamStart + streamLength
        let principalStart = typeStart + typeLength
        let requestStart = principalStart + principalLength
        let correlationStart = requestStart + requestLength
        let causationStart = correlationStart + correlationLength
        let offset = causationStart + causationLength
        let stream = text(bytes, streamStart, streamLength)
        let type = text(bytes, typeStart, typeLength)
        let principal = text(bytes, principalStart, principalLength)
        let requestId = requestLength == 0 ? nil : text(bytes, requestStart, requestLength)
        let correlationId = correlationLength == 0 ? nil : text(bytes, correlationStart, correlationLength)
        let causationId = causationLength == 0 ? nil : text(bytes, causationStart, causationLength)
        let data = [UInt8](UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + dataLength]))
        let uid = u32(bytes, 29)
        return RecordedEvent(
            position: position, stream: stream, version: u64(bytes, 9), type: type, schema: u32(bytes, 25),
            recordedAt: Timestamp(microsecondsSince1970: Int64(bitPattern: u64(bytes, 17))),
            actor: Actor(principal: principal, uid: uid == noUID ? nil : uid),
            requestId: requestId, correlationId: correlationId, causationId: causationId, data: data,
            prevHash: EventHash(loading: bytes, at: 49), hash: EventHash(loading: bytes, at: bytes.count - hashSize))
    }

    /// The stream name and request id of a stored event, as borrowed bytes, and where its
    /// variable fields end — read without decoding the rest.
    static func fields(_ bytes: UnsafeRawBufferPointer) -> (stream: UnsafeRawBufferPointer, requestId: UnsafeRawBufferPointer, end: Int) {
        let streamLength = Int(u16(bytes, 33)), typeLength = Int(u16(bytes, 35)), principalLength = Int(u16(bytes, 37))
        let requestLength = Int(u16(bytes, 39)), correlationLength = Int(u16(bytes, 41)), causationLength = Int(u16(bytes, 43))
        let end = headerSize + streamLength + typeLength + principalLength + requestLength + correlationLength + causationLength
            + Int(u32(bytes, 45))
        guard end <= bytes.count - hashSize else { return (UnsafeRawBufferPointer(start: nil, count: 0), UnsafeRawBufferPointer(start: nil, count: 0), end) }
        let requestStart = headerSize + streamLength + typeLength + principalLength
        return (UnsafeRawBufferPointer(rebasing: bytes[headerSize..<headerSize + streamLength]),
                UnsafeRawBufferPointer(rebasing: bytes[requestStart..<requestStart + requestLength]), end)
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

    @inline(__always) static func text(_ b: UnsafeRawBufferPointer, _ start: Int, _ length: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: b[start..<start + length]), as: UTF8.self)
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
