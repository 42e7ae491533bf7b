/// The named databases of the log environment (see docs/storage.md).
struct LogDatabases: Sendable {
    /// position → stored event. Written with MDB_APPEND only.
    let events: LMDBDatabase
    /// stream, 0, version → position.
    let streams: LMDBDatabase
    /// stream → current version.
    let streamHeads: LMDBDatabase
    /// request id → the request's first result.
    let requests: LMDBDatabase
    /// `format` → the stored format number; `created` → when the log was created.
    let meta: LMDBDatabase

    static let names = ["events", "streams", "stream-heads", "requests", "meta"]

    /// Opens (and, for a writable store, creates) every database.
    init(_ environment: LMDBEnvironment, create: Bool) throws {
        events = try environment.openDatabase("events", create: create)
        streams = try environment.openDatabase("streams", create: create)
        streamHeads = try environment.openDatabase("stream-heads", create: create)
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
                guard let position = IndexKeys.integer(key), value.count >= EventCodec.headerSize + EventCodec.hashSize else {
                    throw StoreError.corrupted(position: nil, reason: "the last entry of the events database is malformed")
                }
                return LogTail(position: position, hash: EventCodec.storedHash(value), recordedAt: EventCodec.recordedAt(value))
            }
        } ?? .empty
    }

    /// A stream's current version, 0 when it does not exist.
    static func streamVersion(_ stream: String, _ txn: LMDBTransaction, _ databases: LogDatabases) throws -> StreamVersion {
        try txn.withValue(databases.streamHeads, key: Array(stream.utf8)) { $0.flatMap(IndexKeys.integer) } ?? 0
    }
}
