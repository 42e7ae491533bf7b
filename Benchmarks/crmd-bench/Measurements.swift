import CLMDB
import CSQLite
import EventStore
import Foundation

/// Command-line settings of the benchmark.
struct BenchArguments {
    var output: String?
    var concurrency = [1, 16, 256]
    /// The socket test's connection counts.
    var connections = [1, 16, 128]
    var seconds = 8.0
    var payloadSize = 240
    var readEvents = 1_000_000
    var maxEvents = 500_000
    var mergeThreshold = StoreOptions().indexMergeThreshold
    var rebuildSizes = [250_000, 1_000_000]
    var scalingSizes = [100_000, 1_000_000, 10_000_000]
    /// Customer rows of the generated import file.
    var importRows = 100_000
    /// Customers of the demo company whose history is exported and imported.
    var historyCustomers = 8_000
    /// Events in the log `make bench` ships to PostgreSQL.
    var shipEvents = 1_000_000
    /// Parts to run when iterating on one of them (`--only socket,commands`); a partial run writes no report.
    var only: Set<String>?

    /// Whether `part` (appends, commands, socket, read, projections, scaling, import) runs.
    func runs(_ part: String) -> Bool { only?.contains(part) ?? true }

    init<S: Sequence<String>>(_ arguments: S) {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--output": output = iterator.next()
            case "--seconds": seconds = iterator.next().flatMap(Double.init) ?? seconds
            case "--read-events": readEvents = iterator.next().flatMap(Int.init) ?? readEvents
            case "--max-events": maxEvents = iterator.next().flatMap(Int.init) ?? maxEvents
            case "--merge-threshold": mergeThreshold = iterator.next().flatMap(Int.init) ?? mergeThreshold
            case "--rebuild-sizes":
                rebuildSizes = iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? rebuildSizes
            case "--scaling-sizes":
                scalingSizes = iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? scalingSizes
            case "--import-rows": importRows = iterator.next().flatMap(Int.init) ?? importRows
            case "--history-customers": historyCustomers = iterator.next().flatMap(Int.init) ?? historyCustomers
            case "--ship-events": shipEvents = iterator.next().flatMap(Int.init) ?? shipEvents
            case "--only":
                only = iterator.next().map { Set($0.split(separator: ",").map(String.init)) }
            case "--connections":
                connections = iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? connections
            case "--concurrency":
                concurrency = iterator.next().map { $0.split(separator: ",").compactMap { Int($0) } } ?? concurrency
            default:
                FileHandle.standardError.write(
                    Data(
                        """
                        usage: crmd-bench [--output FILE] [--seconds S] [--max-events N] [--read-events N] [--concurrency 1,16,256] [--connections 1,16,128] [--merge-threshold N] [--rebuild-sizes 250000,1000000] [--scaling-sizes 100000,1000000,10000000] [--import-rows N] [--history-customers N] [--ship-events N] [--only appends,commands,socket,read,projections,scaling,import,web,ship]

                        """.utf8))
                exit(2)
            }
        }
    }

    /// Events to attempt at a concurrency: enough for a steady state, bounded by `seconds` too.
    func events(for appenders: Int) -> Int { appenders == 1 ? min(maxEvents, 20_000) : maxEvents }
}

/// A representative CRM event: a JSON payload with a Persian note.
struct BenchPayload {
    let data: [UInt8]
    let type = "CallLogged"
    let principal = "agent-17"

    /// Bytes the store keeps for one such event in stream `customer-c000123` (for the baselines).
    var storedSize: Int {
        81 + 32 + "customer-c000123".utf8.count + type.utf8.count + principal.utf8.count + data.count
    }

    static func make(size: Int) -> BenchPayload {
        var text =
            #"{"customerId":"c000123","agentId":"agent-17","at":"2026-03-03T09:15:00Z","direction":"inbound","durationSeconds":184,"outcome":"quoted","note":"#
        let note = "مشتری قیمت را پرسید و قرار شد پیش‌فاکتور ارسال شود"
        text += "\"" + note
        while text.utf8.count < size - 2 { text += "." }
        text += "\"}"
        return BenchPayload(data: Array(text.utf8))
    }
}

/// Throughput and latency of the store at one concurrency.
struct StoreMeasurement {
    var events: Int
    var seconds: Double
    var eventsPerCommit: Double
    var p50: Double
    var p99: Double
    var rate: Double { Double(events) / seconds }
}

/// Throughput of a baseline.
struct BaselineMeasurement {
    var events: Int
    var seconds: Double
    var rate: Double { Double(events) / seconds }
}

/// A bounded closed loop: `tasks` concurrent tasks each run `operation` up to `perTask` times,
/// one after the other, until `deadline`; returns every latency in seconds and the elapsed time.
func closedLoop(
    tasks: Int, perTask: Int, seconds: Double,
    _ operation: @escaping @Sendable (_ task: Int) async throws -> Void
) async throws -> (latencies: [Double], elapsed: Double) {
    let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
    let started = ContinuousClock.now
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for task in 0..<tasks {
            group.addTask {
                var samples: [Double] = []
                samples.reserveCapacity(perTask)
                for i in 0..<perTask {
                    let begin = ContinuousClock.now
                    try await operation(task)
                    samples.append((ContinuousClock.now - begin).seconds)
                    if i % 16 == 0, ContinuousClock.now > deadline { break }
                }
                return samples
            }
        }
        var all: [Double] = []
        for try await samples in group { all += samples }
        return all
    }
    return (latencies, (ContinuousClock.now - started).seconds)
}

/// Durable appends of one event each from `appenders` concurrent tasks.
func measureStore(
    directory: String, appenders: Int, payload: BenchPayload, maxEvents: Int, maxSeconds: Double,
    mergeThreshold: Int
) async throws -> StoreMeasurement {
    var options = StoreOptions()
    options.initialMapSize = 1 << 30
    options.indexMergeThreshold = mergeThreshold
    let store = try EventStore(directory: directory, options: options)
    defer { store.close() }
    let event = ProposedEvent(type: payload.type, data: payload.data)
    let actor = Actor(principal: payload.principal, uid: 1000)
    let (latencies, elapsed) = try await closedLoop(
        tasks: appenders, perTask: max(1, maxEvents / appenders), seconds: maxSeconds
    ) { task in
        _ = try await store.append(AppendRequest(stream: "customer-c\(task)", events: [event], actor: actor))
    }
    let sorted = latencies.sorted()
    let stats = store.commitStatistics
    log(
        "  writer: \(String(format: "%.2f", stats.encodeSeconds)) s encoding, \(String(format: "%.2f", stats.commitSeconds)) s committing, \(stats.commits) commits, \(stats.indexMerges) index merges in \(String(format: "%.2f", stats.mergeSeconds)) s, over \(String(format: "%.2f", elapsed)) s"
    )
    return StoreMeasurement(
        events: sorted.count, seconds: elapsed, eventsPerCommit: stats.eventsPerCommit,
        p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99))
}

/// Plain mdb_put of values of the same size, `batch` per durable transaction, one thread.
func measureRawLMDB(
    directory: String, batch: Int, valueSize: Int, maxEvents: Int, maxSeconds: Double
) throws -> BaselineMeasurement {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    var env: OpaquePointer?
    try lmdb(mdb_env_create(&env))
    defer { mdb_env_close(env) }
    try lmdb(mdb_env_set_mapsize(env, 4 << 30))
    try lmdb(mdb_env_open(env, directory, 0, 0o600))
    var value = [UInt8](repeating: 0x2e, count: valueSize)
    var position: UInt64 = 0
    let deadline = ContinuousClock.now + .milliseconds(Int(maxSeconds * 1000))
    let started = ContinuousClock.now
    while Int(position) < maxEvents, ContinuousClock.now < deadline {
        var txn: OpaquePointer?
        try lmdb(mdb_txn_begin(env, nil, 0, &txn))
        var dbi = MDB_dbi()
        try lmdb(mdb_dbi_open(txn, nil, 0, &dbi))
        for _ in 0..<batch {
            position += 1
            var key = position.bigEndian
            let rc = withUnsafeMutableBytes(of: &key) { k in
                value.withUnsafeMutableBytes { v in
                    var mk = MDB_val(mv_size: 8, mv_data: k.baseAddress)
                    var mv = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                    return mdb_put(txn, dbi, &mk, &mv, UInt32(MDB_APPEND))
                }
            }
            try lmdb(rc)
        }
        try lmdb(mdb_txn_commit(txn))
    }
    return BaselineMeasurement(events: Int(position), seconds: (ContinuousClock.now - started).seconds)
}

/// SQLite in WAL mode with synchronous=FULL: the same rows, `batch` per transaction.
///
/// With `streams` > 0 the table is an event store's as people build one on SQL: each row also
/// names its stream and version, under `UNIQUE(stream, version)` (what refuses a second writer
/// of the same version), the rows going round the `streams` streams as the appenders do.
func measureSQLite(
    path: String, batch: Int, valueSize: Int, maxEvents: Int, maxSeconds: Double,
    streams: Int = 0
) throws -> BaselineMeasurement {
    var db: OpaquePointer?
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw BenchError("sqlite3_open failed") }
    defer { sqlite3_close(db) }
    let table =
        streams > 0
        ? "CREATE TABLE events(position INTEGER PRIMARY KEY, stream TEXT NOT NULL, version INTEGER NOT NULL, data BLOB NOT NULL, UNIQUE(stream, version))"
        : "CREATE TABLE events(position INTEGER PRIMARY KEY, data BLOB NOT NULL)"
    for sql in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", table] {
        guard sqlite3_exec(db, sql, nil, nil, nil) == SQLITE_OK else { throw BenchError("sqlite: \(sql) failed") }
    }
    var insert: OpaquePointer?
    let sql =
        streams > 0
        ? "INSERT INTO events(position, stream, version, data) VALUES (?, ?, ?, ?)"
        : "INSERT INTO events(position, data) VALUES (?, ?)"
    guard sqlite3_prepare_v2(db, sql, -1, &insert, nil) == SQLITE_OK else {
        throw BenchError("sqlite prepare failed")
    }
    defer { sqlite3_finalize(insert) }
    let value = [UInt8](repeating: 0x2e, count: valueSize)
    let names = (0..<max(streams, 1)).map { Array("customer-c\($0)".utf8) }
    var versions = [Int64](repeating: 0, count: names.count)
    var position: Int64 = 0
    let deadline = ContinuousClock.now + .milliseconds(Int(maxSeconds * 1000))
    let started = ContinuousClock.now
    while Int(position) < maxEvents, ContinuousClock.now < deadline {
        sqlite3_exec(db, "BEGIN", nil, nil, nil)
        for _ in 0..<batch {
            position += 1
            sqlite3_bind_int64(insert, 1, position)
            if streams > 0 {
                let stream = Int(position) % streams
                versions[stream] += 1
                _ = names[stream].withUnsafeBytes {
                    sqlite3_bind_text(insert, 2, $0.baseAddress, Int32($0.count), sqliteTransient)
                }
                sqlite3_bind_int64(insert, 3, versions[stream])
                _ = value.withUnsafeBytes { sqlite3_bind_blob(insert, 4, $0.baseAddress, Int32($0.count), nil) }
            } else {
                _ = value.withUnsafeBytes { sqlite3_bind_blob(insert, 2, $0.baseAddress, Int32($0.count), nil) }
            }
            guard sqlite3_step(insert) == SQLITE_DONE else { throw BenchError("sqlite insert failed") }
            sqlite3_reset(insert)
        }
        guard sqlite3_exec(db, "COMMIT", nil, nil, nil) == SQLITE_OK else { throw BenchError("sqlite commit failed") }
    }
    return BaselineMeasurement(events: Int(position), seconds: (ContinuousClock.now - started).seconds)
}

/// SQLITE_TRANSIENT: SQLite copies the bound bytes (the C macro does not import).
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// Reading the whole log as decoded envelopes, against a raw cursor scan of the same file.
struct ReadMeasurement {
    var events: Int
    var decodedRate: Double
    var rawRate: Double
}

func measureRead(directory: String, events: Int, payload: BenchPayload) async throws -> ReadMeasurement {
    var options = StoreOptions()
    options.initialMapSize = 1 << 30
    do {
        let store = try EventStore(directory: directory, options: options)
        defer { store.close() }
        let event = ProposedEvent(type: payload.type, data: payload.data)
        var written = 0
        var customer = 0
        while written < events {
            // Many requests per commit, a few events per customer stream, as a busy day looks.
            let requests = (0..<200).map { _ -> AppendRequest in
                customer += 1
                return AppendRequest(
                    stream: "customer-c\(customer % 100_000)", events: Array(repeating: event, count: 5),
                    actor: Actor(principal: payload.principal, uid: 1000))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for request in requests { group.addTask { try await store.append(request) } }
                try await group.waitForAll()
            }
            written += 1000
        }
    }
    // Each scan runs several times and the fastest counts, for the store and the raw scan alike:
    // the first pass warms the page cache, later ones measure the code.
    var readOptions = options
    readOptions.readOnly = true
    let store = try EventStore(directory: directory, options: readOptions)
    var decoded = 0
    var decodedSeconds = Double.infinity
    for _ in 0..<5 {
        var count = 0
        var bytes = 0
        let started = ContinuousClock.now
        try store.scan(batchSize: 4096) { event in
            count += 1
            bytes &+= event.data.count
            return true
        }
        decodedSeconds = min(decodedSeconds, (ContinuousClock.now - started).seconds)
        decoded = count
    }
    store.close()

    var env: OpaquePointer?
    try lmdb(mdb_env_create(&env))
    defer { mdb_env_close(env) }
    mdb_env_set_maxdbs(env, 8)
    try lmdb(mdb_env_open(env, directory, UInt32(MDB_RDONLY), 0o600))
    var raw = 0
    var rawSeconds = Double.infinity
    for _ in 0..<5 {
        var txn: OpaquePointer?
        let rawStarted = ContinuousClock.now
        try lmdb(mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn))
        var dbi = MDB_dbi()
        try lmdb(mdb_dbi_open(txn, "events", 0, &dbi))
        var cursor: OpaquePointer?
        try lmdb(mdb_cursor_open(txn, dbi, &cursor))
        var key = MDB_val()
        var value = MDB_val()
        var count = 0
        var rawBytes = 0
        while mdb_cursor_get(cursor, &key, &value, MDB_NEXT) == 0 {
            count += 1
            rawBytes &+= value.mv_size
        }
        mdb_cursor_close(cursor)
        mdb_txn_abort(txn)
        rawSeconds = min(rawSeconds, (ContinuousClock.now - rawStarted).seconds)
        raw = count
    }
    guard raw == decoded else { throw BenchError("raw scan saw \(raw) events, decoded scan \(decoded)") }
    return ReadMeasurement(
        events: decoded, decodedRate: Double(decoded) / decodedSeconds, rawRate: Double(raw) / rawSeconds)
}

/// `verify` over the read benchmark's log: events per second.
func measureVerify(directory: String) throws -> Double {
    var options = StoreOptions()
    options.readOnly = true
    let store = try EventStore(directory: directory, options: options)
    let started = ContinuousClock.now
    let report = try store.verify()
    guard report.isValid else { throw BenchError("verify failed: \(report.problem!)") }
    return Double(report.events) / (ContinuousClock.now - started).seconds
}

/// The value at fraction `q` of sorted samples.
func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(Double(sorted.count) * q))]
}

/// A benchmark that could not run.
struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func lmdb(_ rc: Int32) throws {
    if rc != 0 { throw BenchError("lmdb: \(String(cString: mdb_strerror(rc)))") }
}
