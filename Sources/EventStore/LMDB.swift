import CLMDB
import Foundation

// The only file that talks to liblmdb. Everything above it sees byte arrays,
// typed errors and closures; no MDB_val or transaction pointer escapes a closure.

/// An LMDB return code together with the operation that produced it.
package struct LMDBError: Error, CustomStringConvertible {
    package let code: Int32
    package let operation: String

    package var description: String { "\(operation): \(String(cString: mdb_strerror(code))) (\(code))" }

    package var isMapFull: Bool { code == MDB_MAP_FULL }
    package var isNotFound: Bool { code == MDB_NOTFOUND }
    package var isMapResized: Bool { code == MDB_MAP_RESIZED }
}

@inline(__always)
private func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if code != 0 { throw LMDBError(code: code, operation: operation()) }
}

/// A named database inside an environment (an `MDB_dbi`).
package struct LMDBDatabase: Sendable {
    package let handle: MDB_dbi
}

/// Summary figures of an environment, for status reports and map growth.
package struct LMDBEnvironmentInfo: Sendable {
    package let mapSize: Int
    package let lastPageNumber: Int
    package let pageSize: Int
    package let maxReaders: Int
    package let readersInUse: Int

    package var usedBytes: Int { (lastPageNumber + 1) * pageSize }
}

/// An open LMDB environment. Thread-safe: LMDB environments may be shared across threads,
/// read transactions are opened with MDB_NOTLS, and map resizes are serialised by `resizeLock`.
///
/// When LMDB declares the environment unusable (MDB_PANIC, after a meta page could not be
/// written: a full copy-on-write file system, an I/O error), the next transaction closes and
/// reopens it, with the same named databases under the same handles, instead of failing every
/// read and write until the process restarts. `generation` counts those reopenings, so a caller
/// that keeps state about what is committed knows to read it again.
package final class LMDBEnvironment: @unchecked Sendable {
    // Safe to share: liblmdb documents environments as shareable between threads; `env`,
    // `closed`, `generation` and `mapSize` are only read under the shared side of `resizeLock`
    // and only changed under its exclusive side; `databases` has its own lock.
    private var env: OpaquePointer?
    private var closed = false
    private var generation: UInt64 = 0
    private var mapSize: Int
    /// LMDB requires that `mdb_env_set_mapsize` is called while no transaction of this process
    /// is active: every transaction holds the shared side, a resize (or a reopening) the
    /// exclusive side for the few microseconds it needs. Readers first, glibc's default: nothing
    /// here needs writers first, and that kind deadlocks a thread that takes the shared side
    /// twice while a resize waits.
    private let resizeLock = ReadWriteLock(preferWriters: false)
    private let databases = Locked<[(name: String, flags: UInt32, handle: MDB_dbi)]>([])
    private let maxReaders: UInt32
    private let maxDatabases: UInt32
    private let noMetaSync: Bool
    package let path: String
    package let readOnly: Bool

    /// Opens (creating when writable) the environment in directory `path`.
    package init(
        path: String, mapSize: Int, maxReaders: UInt32, maxDatabases: UInt32, readOnly: Bool, noMetaSync: Bool = false
    ) throws(LMDBError) {
        self.path = path
        self.readOnly = readOnly
        self.mapSize = mapSize
        self.maxReaders = maxReaders
        self.maxDatabases = maxDatabases
        self.noMetaSync = noMetaSync
        env = try LMDBEnvironment.open(
            path: path, mapSize: mapSize, maxReaders: maxReaders, maxDatabases: maxDatabases,
            readOnly: readOnly, noMetaSync: noMetaSync)
    }

    private static func open(
        path: String, mapSize: Int, maxReaders: UInt32, maxDatabases: UInt32,
        readOnly: Bool, noMetaSync: Bool
    ) throws(LMDBError) -> OpaquePointer {
        var pointer: OpaquePointer?
        try check(mdb_env_create(&pointer), "mdb_env_create")
        guard let env = pointer else { throw LMDBError(code: ENOMEM, operation: "mdb_env_create") }
        do {
            try check(mdb_env_set_maxreaders(env, maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, mapSize), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            if readOnly { flags |= UInt32(MDB_RDONLY) }
            if noMetaSync { flags |= UInt32(MDB_NOMETASYNC) }
            try check(mdb_env_open(env, path, flags, 0o600), "mdb_env_open(\(path))")
        } catch {
            mdb_env_close(env)
            throw error
        }
        return env
    }

    deinit { if let env { mdb_env_close(env) } }

    /// Closes the environment once every running transaction has finished; later calls fail with EBADF.
    package func close() {
        resizeLock.exclusive {
            if let env { mdb_env_close(env) }
            env = nil
            closed = true
        }
    }

    /// The error every call on a closed environment gets.
    package static let closedCode: Int32 = EBADF

    /// How many times the environment was reopened after MDB_PANIC; the same for every
    /// transaction that saw the same opening (see `LMDBTransaction.generation`).
    package var openings: UInt64 { resizeLock.shared { generation } }

    /// Opens a named database, creating it inside a write transaction when asked to.
    package func openDatabase(_ name: String, create: Bool) throws -> LMDBDatabase {
        let flags = create ? UInt32(MDB_CREATE) : 0
        return try withTransaction(readOnly: !create, keepHandles: true) { txn throws(LMDBError) in
            var dbi = MDB_dbi()
            try check(mdb_dbi_open(txn.pointer, name, flags, &dbi), "mdb_dbi_open(\(name))")
            databases.withLock { opened in
                if !opened.contains(where: { $0.handle == dbi }) { opened.append((name, flags, dbi)) }
            }
            return LMDBDatabase(handle: dbi)
        }
    }

    /// Runs `body` in a read-only transaction that ends when `body` returns.
    package func read<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(readOnly: true, body)
    }

    /// Runs `body` in a write transaction, committed (durably) when it returns and aborted when it throws.
    package func write<T>(_ body: (LMDBTransaction) throws -> T) throws -> T {
        try withTransaction(readOnly: false, body)
    }

    /// What one try at a transaction came to.
    private enum Attempt<T> {
        case finished(Result<T, any Error>)
        /// Another process grew the map.
        case resized
        /// The environment is unusable (MDB_PANIC) or was left closed by a failed reopening.
        case broken(generation: UInt64)
    }

    private func withTransaction<T, E: Error>(
        readOnly: Bool, keepHandles: Bool = false,
        _ body: (LMDBTransaction) throws(E) -> T
    ) throws -> T {
        var reopenings = 0
        while true {
            let attempt: Attempt<T> = resizeLock.shared {
                guard let env else {
                    if closed {
                        return .finished(
                            .failure(
                                LMDBError(
                                    code: LMDBEnvironment.closedCode, operation: "transaction on a closed environment"))
                        )
                    }
                    return .broken(generation: generation)
                }
                var pointer: OpaquePointer?
                let rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &pointer)
                if rc == MDB_MAP_RESIZED { return .resized }
                if rc == MDB_PANIC { return .broken(generation: generation) }
                if rc != 0 { return .finished(.failure(LMDBError(code: rc, operation: "mdb_txn_begin"))) }
                let txn = LMDBTransaction(pointer: pointer!, generation: generation)
                do {
                    let value = try body(txn)
                    if readOnly && !keepHandles {
                        // Aborting ends a read transaction; committing one only matters for new handles.
                        mdb_txn_abort(txn.pointer)
                    } else {
                        let rc = mdb_txn_commit(txn.pointer)
                        // A failed meta page write also marks the environment fatal; the next
                        // transaction's begin says so (MDB_PANIC) and reopens it.
                        if rc != 0 {
                            return .finished(.failure(LMDBError(code: committedCode(rc), operation: "mdb_txn_commit")))
                        }
                    }
                    return .finished(.success(value))
                } catch {
                    mdb_txn_abort(txn.pointer)
                    return .finished(.failure(error))
                }
            }
            switch attempt {
            case .finished(let result):
                return try result.get()
            case .resized:
                // Adopt the size the other process chose, then try again.
                try setMapSize(0)
            case .broken(let seen):
                // Reopening once is enough unless something keeps breaking it; then say so.
                guard reopenings < 3 else {
                    throw LMDBError(code: MDB_PANIC, operation: "mdb_txn_begin after reopening \(path)")
                }
                reopenings += 1
                try reopen(after: seen)
            }
        }
    }

    /// Closes the unusable environment and opens it again with the same databases under the
    /// same handles, unless another thread already did since `seen`.
    private func reopen(after seen: UInt64) throws(LMDBError) {
        try resizeLock.exclusive { () throws(LMDBError) in
            guard !closed, generation == seen else { return }
            if let env {
                mdb_env_close(env)
                self.env = nil
            }
            let fresh = try LMDBEnvironment.open(
                path: path, mapSize: mapSize, maxReaders: maxReaders,
                maxDatabases: maxDatabases, readOnly: readOnly, noMetaSync: noMetaSync)
            // Handles are slots numbered in the order databases are opened, so opening them in
            // the first order gives every `LMDBDatabase` the caller holds its meaning back.
            let opened = databases.withLock { $0 }
            var txn: OpaquePointer?
            do throws(LMDBError) {
                try check(mdb_txn_begin(fresh, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn), "mdb_txn_begin")
                for database in opened {
                    var dbi = MDB_dbi()
                    let rc = mdb_dbi_open(txn, database.name, database.flags & ~UInt32(MDB_CREATE), &dbi)
                    if rc != 0 {
                        mdb_txn_abort(txn)
                        throw LMDBError(code: rc, operation: "mdb_dbi_open(\(database.name)) on reopening")
                    }
                    guard dbi == database.handle else {
                        mdb_txn_abort(txn)
                        throw LMDBError(code: MDB_BAD_DBI, operation: "mdb_dbi_open(\(database.name)) on reopening")
                    }
                }
                try check(mdb_txn_commit(txn), "mdb_txn_commit")
            } catch {
                mdb_env_close(fresh)
                throw error
            }
            env = fresh
            generation += 1
        }
        StorageDiagnostics.reported(path)
    }

    /// Grows the memory map; waits until no transaction of this process is active.
    package func setMapSize(_ size: Int) throws(LMDBError) {
        try resizeLock.exclusive { () throws(LMDBError) in
            guard let env else {
                throw LMDBError(code: LMDBEnvironment.closedCode, operation: "resize of a closed environment")
            }
            try check(mdb_env_set_mapsize(env, size), "mdb_env_set_mapsize(\(size))")
            var info = MDB_envinfo()
            mdb_env_info(env, &info)
            mapSize = info.me_mapsize
        }
    }

    /// Current map size, pages used and reader slots.
    package func info() -> LMDBEnvironmentInfo {
        var info = MDB_envinfo()
        var stat = MDB_stat()
        resizeLock.shared {
            guard let env else { return }
            mdb_env_info(env, &info)
            mdb_env_stat(env, &stat)
        }
        return LMDBEnvironmentInfo(
            mapSize: info.me_mapsize, lastPageNumber: info.me_last_pgno, pageSize: Int(stat.ms_psize),
            maxReaders: Int(info.me_maxreaders), readersInUse: Int(info.me_numreaders))
    }

    /// Turns fsync at commit off (true) or back on, for a bulk load that syncs once at its end.
    package func setNoSync(_ on: Bool) throws(LMDBError) {
        try withOpenEnvironment { env throws(LMDBError) in
            try check(mdb_env_set_flags(env, UInt32(MDB_NOSYNC), on ? 1 : 0), "mdb_env_set_flags(MDB_NOSYNC)")
        }
    }

    /// Flushes every commit to disk, including those made without fsync.
    package func sync() throws(LMDBError) {
        try withOpenEnvironment { env throws(LMDBError) in try check(mdb_env_sync(env, 1), "mdb_env_sync") }
    }

    /// Clears reader slots left behind by processes that died; returns how many were cleared.
    package func clearStaleReaders() throws(LMDBError) -> Int {
        var dead: Int32 = 0
        try withOpenEnvironment { env throws(LMDBError) in try check(mdb_reader_check(env, &dead), "mdb_reader_check") }
        return Int(dead)
    }

    /// LMDB reports a short write of its pages as EIO; on a filesystem with no room left that
    /// is a full disk (the caller can wait for space), not a broken one.
    private func committedCode(_ rc: Int32) -> Int32 {
        guard rc == EIO else { return rc }
        var fs = statvfs()
        guard statvfs(path, &fs) == 0 else { return rc }
        let free = UInt64(fs.f_bavail) * UInt64(fs.f_frsize)
        return free < 16 << 20 ? ENOSPC : rc
    }

    /// Writes a consistent copy of the environment into the existing, empty directory `path`.
    package func copy(to path: String, compact: Bool) throws(LMDBError) {
        try withOpenEnvironment { env throws(LMDBError) in
            try check(mdb_env_copy2(env, path, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copy2(\(path))")
        }
        // mdb_env_copy2 creates the file with the process umask; a copy holds the same secrets.
        chmod(path + "/data.mdb", 0o600)
    }

    private func withOpenEnvironment(_ body: (OpaquePointer) throws(LMDBError) -> Void) throws(LMDBError) {
        try resizeLock.shared { () throws(LMDBError) in
            guard let env else {
                throw LMDBError(code: LMDBEnvironment.closedCode, operation: "use of a closed environment")
            }
            try body(env)
        }
    }
}

/// Where the process hears that storage failed and recovered by itself, so an operator learns
/// of a disk that refused a write even though nothing stopped.
public enum StorageDiagnostics {
    private static let handler = Locked<(@Sendable (_ path: String) -> Void)?>(nil)

    /// Calls `report` with an environment's directory each time it is reopened after MDB_PANIC.
    public static func onReopen(_ report: @escaping @Sendable (_ path: String) -> Void) {
        handler.withLock { $0 = report }
    }

    package static func reported(_ path: String) {
        handler.withLock { $0 }?(path)
    }
}

/// A transaction handle, valid only inside the closure that received it.
package struct LMDBTransaction {
    fileprivate let pointer: OpaquePointer
    /// The environment's `openings` when this transaction began.
    package let generation: UInt64

    /// Calls `body` with the stored value for `key`, or nil when absent. The buffer is LMDB's
    /// own memory and must not outlive the call.
    package func withValue<T>(
        _ db: LMDBDatabase, key: [UInt8], _ body: (UnsafeRawBufferPointer?) throws -> T
    ) throws -> T {
        var value = MDB_val()
        let rc = key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(pointer, db.handle, &k, &value)
        }
        if rc == MDB_NOTFOUND { return try body(nil) }
        try check(rc, "mdb_get")
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    /// Stores `value` under `key`; `append` asserts that the key sorts after every existing key.
    package func put(_ db: LMDBDatabase, key: [UInt8], value: [UInt8], append: Bool = false) throws {
        try key.withUnsafeBytes { keyBytes in
            try value.withUnsafeBytes { valueBytes in
                try put(db, key: keyBytes, value: valueBytes, append: append)
            }
        }
    }

    /// Stores `value` under `key` from borrowed buffers (the hot path avoids allocating keys).
    package func put(
        _ db: LMDBDatabase, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, append: Bool = false
    ) throws(LMDBError) {
        var k = MDB_val(mv_size: key.count, mv_data: UnsafeMutableRawPointer(mutating: key.baseAddress))
        var v = MDB_val(mv_size: value.count, mv_data: UnsafeMutableRawPointer(mutating: value.baseAddress))
        try check(mdb_put(pointer, db.handle, &k, &v, append ? UInt32(MDB_APPEND) : 0), "mdb_put")
    }

    /// Removes `key` from `db`; returns false when it was not there.
    @discardableResult
    package func delete(_ db: LMDBDatabase, key: [UInt8]) throws(LMDBError) -> Bool {
        let rc = key.withUnsafeBytes { keyBytes in
            var k = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(pointer, db.handle, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try check(rc, "mdb_del")
        return true
    }

    /// Removes every entry of `db`, keeping the database.
    package func clear(_ db: LMDBDatabase) throws(LMDBError) {
        try check(mdb_drop(pointer, db.handle, 0), "mdb_drop")
    }

    /// Number of entries in `db`.
    package func count(_ db: LMDBDatabase) throws(LMDBError) -> Int {
        var stat = MDB_stat()
        try check(mdb_stat(pointer, db.handle, &stat), "mdb_stat")
        return stat.ms_entries
    }

    /// Runs `body` with a cursor over `db` that is closed when `body` returns.
    package func withCursor<T>(_ db: LMDBDatabase, _ body: (inout LMDBCursor) throws -> T) throws -> T {
        var raw: OpaquePointer?
        try check(mdb_cursor_open(pointer, db.handle, &raw), "mdb_cursor_open")
        var cursor = LMDBCursor(pointer: raw!)
        defer { mdb_cursor_close(raw) }
        return try body(&cursor)
    }
}

/// Where a cursor should move.
package enum CursorMove {
    case first, last, next, previous
    /// The first key greater than or equal to the given one.
    case atOrAfter([UInt8])
}

/// A cursor, valid only inside `LMDBTransaction.withCursor`.
package struct LMDBCursor {
    fileprivate let pointer: OpaquePointer

    /// Moves the cursor and calls `body` with the key and value there, or returns nil at the end.
    /// The buffers are LMDB's memory and must not outlive the call.
    package mutating func move<T>(
        _ move: CursorMove, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> T
    ) throws -> T? {
        // No nested helper here: a local function capturing `key` and `value` would box them
        // and cost a dynamic exclusivity check per step of every scan.
        var key = MDB_val()
        var value = MDB_val()
        let rc: Int32
        switch move {
        case .first: rc = mdb_cursor_get(pointer, &key, &value, MDB_FIRST)
        case .last: rc = mdb_cursor_get(pointer, &key, &value, MDB_LAST)
        case .next: rc = mdb_cursor_get(pointer, &key, &value, MDB_NEXT)
        case .previous: rc = mdb_cursor_get(pointer, &key, &value, MDB_PREV)
        case .atOrAfter(let bytes):
            rc = bytes.withUnsafeBytes { raw in
                key = MDB_val(mv_size: raw.count, mv_data: UnsafeMutableRawPointer(mutating: raw.baseAddress))
                return mdb_cursor_get(pointer, &key, &value, MDB_SET_RANGE)
            }
        }
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get")
        return try body(
            UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
            UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }
}

/// Starts loading into cache the record a forward cursor step over an appended database will
/// reach next: the bytes just below the current record's `key` (see `crmd_prefetch_before`).
/// Reading the log decoded each event after a miss to memory on its first byte; this halved
/// the cost of a scan.
@inline(__always) func prefetchNextRecord(before key: UnsafeRawBufferPointer) {
    crmd_prefetch_before(key.baseAddress, 512)
}
