// The secondary indexes (`streams`, `requests`) cover the log up to `meta/indexed`; the events
// after it — the unindexed tail, at most a few thousand — are found by scanning. Deferring the
// index writes lets one merge write each index page once for thousands of events, instead of
// once per commit (see docs/design.md).

/// Reads the boundary between the indexed log and its unindexed tail, and scans the tail.
enum UnindexedTail {
    static let indexedKey = Array("indexed".utf8)

    /// The last position covered by the `streams` and `requests` indexes.
    static func indexedThrough(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> Position {
        try txn.withValue(databases.meta, key: indexedKey) { $0.flatMap(IndexKeys.position) } ?? 0
    }

    /// Calls `body` with position, stream name bytes, version and request id bytes of every
    /// event after the indexed boundary, without decoding the rest.
    static func scan(
        _ txn: LMDBTransaction, _ databases: LogDatabases, after indexed: Position,
        _ body: (Position, UnsafeRawBufferPointer, StreamVersion, UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws
            -> Void
    ) throws {
        try txn.withCursor(databases.events) { cursor in
            var move = CursorMove.atOrAfter(IndexKeys.position(indexed + 1))
            while try cursor.move(
                move,
                { key, value -> Bool in
                    prefetchNextRecord(before: key)
                    guard let position = IndexKeys.position(key),
                        value.count >= EventCodec.headerSize + EventCodec.hashSize
                    else {
                        throw StoreError.corrupted(
                            position: nil, reason: "a malformed entry follows position \(indexed)")
                    }
                    let layout = EventCodec.Layout(value)
                    guard layout.end + EventCodec.hashSize == value.count else {
                        throw StoreError.corrupted(
                            position: position, reason: "field lengths do not add up to the stored event")
                    }
                    try body(
                        position, UnsafeRawBufferPointer(rebasing: value[layout.stream]),
                        StreamVersion(rawValue: EventCodec.u64(value, 9)),
                        UnsafeRawBufferPointer(rebasing: value[layout.requestId]), value)
                    return true
                }) != nil
            {
                move = .next
            }
        }
    }

    /// Where a stream's events are: versions up to `indexedVersion` in the `streams` index, the
    /// rest at `tailPositions` (versions indexedVersion + 1, + 2, …).
    struct StreamLocator {
        let stream: StreamName
        let indexedVersion: StreamVersion
        let tailPositions: [Position]

        /// The stream's current version.
        var lastVersion: StreamVersion { indexedVersion + UInt64(tailPositions.count) }

        /// Finds `stream`'s events in the index and the tail, within one transaction.
        init(_ stream: StreamName, _ txn: LMDBTransaction, _ databases: LogDatabases) throws {
            self.stream = stream
            indexedVersion = try LogTail.streamVersion(stream, txn, databases)
            let indexed = try UnindexedTail.indexedThrough(txn, databases)
            let name = Array(stream.rawValue.utf8)
            var positions: [Position] = []
            var expected = indexedVersion + 1
            try UnindexedTail.scan(txn, databases, after: indexed) { position, streamBytes, version, _, _ in
                guard streamBytes.elementsEqual(name) else { return }
                guard version == expected else {
                    throw StoreError.corrupted(
                        position: position,
                        reason: "stream '\(stream)' jumps to version \(version), expected \(expected)")
                }
                positions.append(position)
                expected += 1
            }
            tailPositions = positions
        }

        /// The position of `version`, or nil beyond the stream's end.
        func position(of version: StreamVersion, _ txn: LMDBTransaction, _ databases: LogDatabases) throws -> Position?
        {
            guard version >= 1, version <= lastVersion else { return nil }
            if version > indexedVersion { return tailPositions[Int(version.rawValue - indexedVersion.rawValue - 1)] }
            guard let position = try EventStore.position(of: stream, version: version, txn, databases) else {
                throw StoreError.corrupted(
                    position: nil, reason: "stream '\(stream)' has no index entry for version \(version)")
            }
            return position
        }
    }
}

/// What the writer knows about the unindexed tail, kept in memory on the writer thread.
///
/// Rebuilt from the log on open, so a crash loses nothing: the events are the truth, this is
/// only a faster way to answer "what version is this stream at?" and "was this request seen?"
/// for events the indexes do not cover yet.
struct WriterTail {
    /// The last position the indexes cover.
    var indexedThrough: Position = 0
    /// Current version of every stream written in the tail (and, as a cache, of streams written before it).
    var streamVersions: [StreamName: StreamVersion] = [:]
    /// First results of requests written in the tail.
    var requests: [String: AppendResult] = [:]
    /// Events in the tail.
    var events = 0

    /// Reads the tail of the log as it stands.
    static func load(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> WriterTail {
        var tail = WriterTail()
        tail.indexedThrough = try UnindexedTail.indexedThrough(txn, databases)
        try UnindexedTail.scan(txn, databases, after: tail.indexedThrough) {
            position, stream, version, requestId, value in
            tail.events += 1
            let name = StreamName(rawValue: String(decoding: stream, as: UTF8.self))
            tail.streamVersions[name] = version
            guard requestId.count > 0 else { return }
            let id = String(decoding: requestId, as: UTF8.self)
            var result =
                tail.requests[id]
                ?? AppendResult(streams: [], recordedAt: EventCodec.recordedAt(value), duplicate: false)
            // A request's events are contiguous and grouped by stream in the order it named them.
            if let last = result.streams.indices.last, result.streams[last].stream == name {
                result.streams[last].lastVersion = version
                result.streams[last].lastPosition = position
            } else {
                result.streams.append(
                    StreamAppendResult(
                        stream: name, firstVersion: version, lastVersion: version,
                        firstPosition: position, lastPosition: position))
            }
            tail.requests[id] = result
        }
        return tail
    }
}
