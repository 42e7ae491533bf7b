/// The named databases of the log environment (see docs/storage.md).
struct LogDatabases: Sendable {
    /// position → stored event. Written with MDB_APPEND only.
    let events: LMDBDatabase
    /// stream, 0, version → position, for events up to `meta/indexed` (see `UnindexedTail`).
    let streams: LMDBDatabase
    /// request id → the request's first result.
    let requests: LMDBDatabase
    /// `format` → the stored format number; `created` → when the log was created; `streams` → how many streams exist.
    let meta: LMDBDatabase

    static let names = ["events", "streams", "requests", "meta"]

    /// Opens (and, for a writable store, creates) every database.
    init(_ environment: LMDBEnvironment, create: Bool) throws {
        events = try environment.openDatabase("events", create: create)
        streams = try environment.openDatabase("streams", create: create)
        requests = try environment.openDatabase("requests", create: create)
        meta = try environment.openDatabase("meta", create: create)
    }
}

/// The last event of the log: where the next append starts.
struct LogTail {
    var position: Position
    var hash: EventHash
    var recordedAt: Timestamp

    static let empty = LogTail(position: 0, hash: .genesis, recordedAt: Timestamp(microsecondsSince1970: 0))

    /// Reads the tail inside `txn` without decoding the whole event.
    static func read(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> LogTail {
        try txn.withCursor(databases.events) { cursor in
            try cursor.move(.last) { key, value -> LogTail in
                guard let position = IndexKeys.position(key), value.count >= EventCodec.headerSize + EventCodec.hashSize
                else {
                    throw StoreError.corrupted(
                        position: nil, reason: "the last entry of the events database is malformed")
                }
                return LogTail(
                    position: position, hash: EventCodec.storedHash(value), recordedAt: EventCodec.recordedAt(value))
            }
        } ?? .empty
    }

    /// A stream's last version in the `streams` index (0 when it has none); events after
    /// `meta/indexed` may add to it (see `UnindexedTail.StreamLocator`).
    ///
    /// Every key of a stream is `name, 0, version`, and names hold no NUL byte, so the stream's
    /// last entry is the one just before the first key at or after `name, 1`.
    static func streamVersion(
        _ stream: StreamName, _ txn: LMDBTransaction, _ databases: LogDatabases
    ) throws -> StreamVersion {
        var bound = Array(stream.rawValue.utf8)
        bound.append(1)
        let prefixLength = bound.count
        return try txn.withCursor(databases.streams) { cursor in
            let beyond = try cursor.move(.atOrAfter(bound)) { _, _ in true }
            let last = try cursor.move(beyond == nil ? .last : .previous) { key, value -> StreamVersion? in
                guard key.count == prefixLength + 8, key[prefixLength - 1] == 0,
                    key.prefix(prefixLength - 1).elementsEqual(bound.prefix(prefixLength - 1))
                else { return nil }
                return StreamVersion(rawValue: EventCodec.u64(key, prefixLength))
            }
            return (last ?? nil) ?? 0
        }
    }

    /// The number of streams recorded in `meta`.
    static func streamCount(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> UInt64 {
        try txn.withValue(databases.meta, key: LogTail.streamsKey) { $0.flatMap(IndexKeys.integer) } ?? 0
    }

    static let streamsKey = Array("streams".utf8)
}
