import EventStore
import Foundation

/// A general-purpose LMDB environment of named tables with ordered byte keys, for read models.
///
/// Knows nothing about events: projections keep their state and checkpoints here. Writes are
/// closures run in one transaction, committed when they return; a write may run its body more
/// than once (after the map grew), so bodies must not have effects outside the transaction.
/// Commits use MDB_NOMETASYNC: a system crash may undo the last commits (never half of one),
/// which a projection's checkpoint, written in the same transaction, then undoes too.
/// A bulk load (`bulkLoad`) commits without fsync at all, for data that can be made again.
public final class KeyValueStore: Sendable {
    private let environment: LMDBEnvironment
    private let tables: [String: LMDBDatabase]
    /// The environment's directory.
    public let directory: String
    /// Whether opening found a bulk load cut off (by a crash) and so started empty.
    public let discardedInterruptedBulkLoad: Bool

    /// The file that says a bulk load is under way in `directory`; its loader holds a lock on it.
    static func bulkLoadMarker(_ directory: String) -> String { directory + "/bulk-load-in-progress" }

    /// Opens (creating) the environment in `directory` with these tables.
    public init(directory: String, tables names: [String], readOnly: Bool = false) throws {
        self.directory = directory
        do {
            if !readOnly {
                try FileManager.default.createDirectory(
                    atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            // Commits of a bulk load are not synced: after a crash the file may hold pages of a
            // commit without those of the commit before, which no reader can trust. Its data can
            // be made again, so the next writer drops it. (A reader only reads.)
            discardedInterruptedBulkLoad = try !readOnly && KeyValueStore.dropIfBulkLoadWasCutOff(directory)
            environment = try LMDBEnvironment(
                path: directory, mapSize: 1 << 30, maxReaders: 126,
                maxDatabases: UInt32(names.count + 1), readOnly: readOnly, noMetaSync: true)
            if !readOnly { _ = try environment.clearStaleReaders() }
            var tables: [String: LMDBDatabase] = [:]
            for name in Set(names) { tables[name] = try environment.openDatabase(name, create: !readOnly) }
            self.tables = tables
        } catch {
            throw StoreError.wrap(error)
        }
    }

    /// Deletes the environment's files when a bulk load's marker is there and no process holds
    /// its lock (its loader died); true when it did. A load still running in another process
    /// (a daemon rebuilding while `crmd replay` opens the projections) is left alone.
    private static func dropIfBulkLoadWasCutOff(_ directory: String) throws -> Bool {
        let marker = bulkLoadMarker(directory)
        let fd = open(marker, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { Foundation.close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return false }
        // The loader may have finished (unlinked the marker, then let go) between our open and
        // our lock: then the file we locked is no longer the marker, and the store is whole.
        var opened = stat(), current = stat()
        guard fstat(fd, &opened) == 0, stat(marker, &current) == 0, opened.st_ino == current.st_ino,
            opened.st_dev == current.st_dev
        else {
            return false
        }
        for file in ["data.mdb", "lock.mdb"] where unlink(directory + "/" + file) != 0 && errno != ENOENT {
            throw StoreError.system("unlink(\(directory)/\(file))")
        }
        try removeDurably(marker, in: directory)
        return true
    }

    /// Runs `body`, whose writes commit without fsync, then makes all of them durable at once.
    ///
    /// For loading data that can be made again (a rebuild of projections): each commit's
    /// fsync would write the pages it changed, and a bulk load changes most pages in every
    /// commit, so the disk wrote the file many times over. A marker file, locked by this
    /// process, stays in the directory until the final sync; a writer that opens the store
    /// while the marker is there and unlocked (the load was cut off) starts empty. Readers
    /// meanwhile see every commit as usual. When `body` throws, what it committed is synced
    /// all the same.
    public func bulkLoad<T>(_ body: () throws -> T) throws -> T {
        let marker = KeyValueStore.bulkLoadMarker(directory)
        // Throws `locked` when another process is loading. Released on leaving, after the
        // marker was removed.
        let lock = try WriterLock(path: marker)
        defer { lock.release() }
        do {
            // The marker's name in the directory is what must survive a crash, not its content.
            try syncDirectory(directory)
            try environment.setNoSync(true)
        } catch {
            throw StoreError.wrap(error)
        }
        let result: Result<T, any Error> = Result { try body() }
        do {
            try environment.setNoSync(false)
            try environment.sync()
            try KeyValueStore.removeDurably(marker, in: directory)
        } catch {
            throw StoreError.wrap(error)
        }
        return try result.get()
    }

    /// Removes `path` (if there) and syncs its directory.
    private static func removeDurably(_ path: String, in directory: String) throws {
        if unlink(path) != 0 && errno != ENOENT { throw StoreError.system("unlink(\(path))") }
        try syncDirectory(directory)
    }

    /// Closes the environment once running transactions have finished.
    public func close() { environment.close() }

    /// Runs `body` in a read-only snapshot.
    public func read<T>(_ body: (KeyValueTransaction) throws -> T) throws -> T {
        try EventStore.storageCall { try environment.read { try body(KeyValueTransaction(txn: $0, tables: tables)) } }
    }

    /// Runs `body` in a write transaction, committed durably when it returns, aborted when it throws.
    public func write<T>(_ body: (KeyValueTransaction) throws -> T) throws -> T {
        while true {
            do {
                return try environment.write { try body(KeyValueTransaction(txn: $0, tables: tables)) }
            } catch let error as LMDBError where error.isMapFull {
                let size = environment.info().mapSize
                do { try environment.setMapSize(size < (8 << 30) ? size * 2 : size + (8 << 30)) } catch {
                    throw StoreError.wrap(error)
                }
            } catch {
                throw StoreError.wrap(error)
            }
        }
    }

    /// Writes a consistent, compacted copy into the empty directory `destination`.
    public func backup(to destination: String) throws {
        try FileManager.default.createDirectory(
            atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try EventStore.storageCall { try environment.copy(to: destination, compact: true) }
    }

    /// Bytes the environment's data file uses.
    public var usedBytes: Int { environment.info().usedBytes }

    /// Times the environment was reopened after LMDB declared it unusable (MDB_PANIC) since open.
    public var reopenings: UInt64 { environment.openings }
}

/// A table of one key-value transaction, for `KeyValueTransaction`'s writes by handle.
public struct KeyValueTable {
    let database: LMDBDatabase
}

/// A transaction over a `KeyValueStore`'s tables, valid only inside the closure that received it.
/// Values are copied out; LMDB's memory never escapes.
public struct KeyValueTransaction {
    let txn: LMDBTransaction
    let tables: [String: LMDBDatabase]

    private func table(_ name: String) throws -> LMDBDatabase {
        guard let table = tables[name] else {
            throw StoreError.invalidRequest("no table \(name) in this key-value store")
        }
        return table
    }

    /// `name`'s table, looked up once for many writes (a lookup by name hashes the name).
    public func table(named name: String) throws -> KeyValueTable {
        KeyValueTable(database: try table(name))
    }

    /// Stores `value` under `key` in a table looked up before.
    public func put(_ table: KeyValueTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(table.database, key: key, value: value)
    }

    /// The value under `key`, or nil.
    public func get(_ table: String, _ key: [UInt8]) throws -> [UInt8]? {
        try txn.withValue(self.table(table), key: key) { $0.map { Array($0) } }
    }

    /// Stores `value` under `key`, replacing any value there.
    public func put(_ table: String, _ key: [UInt8], _ value: [UInt8]) throws {
        try txn.put(self.table(table), key: key, value: value)
    }

    /// Removes `key`; false when it was absent.
    @discardableResult
    public func delete(_ table: String, _ key: [UInt8]) throws -> Bool {
        try txn.delete(self.table(table), key: key)
    }

    /// Removes every entry of `table`.
    public func clear(_ table: String) throws {
        try txn.clear(self.table(table))
    }

    /// Number of entries in `table`.
    public func count(_ table: String) throws -> Int {
        try txn.count(self.table(table))
    }

    /// Calls `body` with each entry whose key starts with `prefix`, in key order, from `start`
    /// (at or after) when given; return false to stop.
    public func scan(
        _ table: String, prefix: [UInt8], from start: [UInt8]? = nil,
        _ body: ([UInt8], [UInt8]) throws -> Bool
    ) throws {
        try txn.withCursor(self.table(table)) { cursor in
            let from = start ?? prefix
            var step: CursorMove = from.isEmpty ? .first : .atOrAfter(from)
            while let more = try cursor.move(
                step,
                { key, value -> Bool in
                    guard key.count >= prefix.count, zip(key, prefix).allSatisfy({ $0 == $1 }) else { return false }
                    return try body(Array(key), Array(value))
                }), more
            {
                step = .next
            }
        }
    }
}
