// Keys and values of the log's index databases (see docs/storage.md). All integers are
// big-endian so that LMDB's byte-wise key order is numeric order.

/// Encodes the keys and values of the `events`, `streams`, `stream-heads` and `requests` databases.
enum IndexKeys {
    /// `events` key: the position.
    static func position(_ position: Position) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(8)
        EventCodec.append(position.rawValue, to: &key)
        return key
    }

    /// `streams` key: stream name, a zero byte, the version. Value: the position.
    static func streamEntry(_ stream: StreamName, _ version: StreamVersion) -> [UInt8] {
        var key = [UInt8]()
        key.reserveCapacity(stream.rawValue.utf8.count + 9)
        key.append(contentsOf: stream.rawValue.utf8)
        key.append(0)
        EventCodec.append(version.rawValue, to: &key)
        return key
    }

    /// Writes a `streams` key into `key`, reusing its storage.
    static func streamEntry(_ stream: StreamName, _ version: StreamVersion, into key: inout [UInt8]) {
        key.removeAll(keepingCapacity: true)
        key.append(contentsOf: stream.rawValue.utf8)
        key.append(0)
        EventCodec.append(version.rawValue, to: &key)
    }

    /// Splits a `streams` key into stream name and version.
    static func parseStreamEntry(_ key: UnsafeRawBufferPointer) -> (stream: StreamName, version: StreamVersion)? {
        guard key.count >= 10, key[key.count - 9] == 0 else { return nil }
        let stream = String(decoding: UnsafeRawBufferPointer(rebasing: key[0..<key.count - 9]), as: UTF8.self)
        return (StreamName(rawValue: stream), StreamVersion(rawValue: EventCodec.u64(key, key.count - 8)))
    }

    /// An 8-byte big-endian integer value.
    static func integer(_ value: UInt64) -> [UInt8] { position(Position(rawValue: value)) }

    /// Reads an 8-byte big-endian position (an `events` key, a `streams` value).
    static func position(_ bytes: UnsafeRawBufferPointer) -> Position? {
        integer(bytes).map(Position.init(rawValue:))
    }

    /// Reads an 8-byte big-endian integer value.
    static func integer(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        bytes.count == 8 ? EventCodec.u64(bytes, 0) : nil
    }

    /// `requests` value: the first result of the request, so a retry gets it back.
    static func encode(_ result: AppendResult) -> [UInt8] {
        var out: [UInt8] = [1]
        EventCodec.append(UInt64(bitPattern: result.recordedAt.microsecondsSince1970), to: &out)
        EventCodec.append(UInt16(result.streams.count), to: &out)
        for stream in result.streams {
            EventCodec.append(UInt16(stream.stream.rawValue.utf8.count), to: &out)
            out.append(contentsOf: stream.stream.rawValue.utf8)
            for value in [
                stream.firstVersion.rawValue, stream.lastVersion.rawValue, stream.firstPosition.rawValue,
                stream.lastPosition.rawValue,
            ] {
                EventCodec.append(value, to: &out)
            }
        }
        return out
    }

    /// Decodes a `requests` value; nil when it is malformed.
    static func decodeResult(_ bytes: UnsafeRawBufferPointer) -> AppendResult? {
        guard bytes.count >= 11, bytes[0] == 1 else { return nil }
        let recordedAt = Timestamp(microsecondsSince1970: Int64(bitPattern: EventCodec.u64(bytes, 1)))
        let count = Int(EventCodec.u16(bytes, 9))
        var offset = 11
        var streams: [StreamAppendResult] = []
        for _ in 0..<count {
            guard offset + 2 <= bytes.count else { return nil }
            let length = Int(EventCodec.u16(bytes, offset))
            offset += 2
            guard offset + length + 32 <= bytes.count else { return nil }
            let name = String(
                decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + length]), as: UTF8.self)
            offset += length
            let v = (0..<4).map { EventCodec.u64(bytes, offset + 8 * $0) }
            offset += 32
            streams.append(
                StreamAppendResult(
                    stream: StreamName(rawValue: name), firstVersion: StreamVersion(rawValue: v[0]),
                    lastVersion: StreamVersion(rawValue: v[1]), firstPosition: Position(rawValue: v[2]),
                    lastPosition: Position(rawValue: v[3])))
        }
        guard offset == bytes.count else { return nil }
        return AppendResult(streams: streams, recordedAt: recordedAt, duplicate: false)
    }
}
