import CLMDB
import Foundation

/// Direct access to a closed store's LMDB environment, to play the attacker or the failing disk.
struct RawLMDB {
    let path: String

    /// Runs `body` with a write transaction and the named database, then commits.
    func edit(_ database: String, _ body: (OpaquePointer, MDB_dbi) throws -> Void) throws {
        var env: OpaquePointer?
        precondition(mdb_env_create(&env) == 0)
        defer { mdb_env_close(env) }
        mdb_env_set_maxdbs(env, 16)
        guard mdb_env_open(env, path, 0, 0o600) == 0 else { throw NSError(domain: "raw", code: 1) }
        var txn: OpaquePointer?
        guard mdb_txn_begin(env, nil, 0, &txn) == 0 else { throw NSError(domain: "raw", code: 2) }
        var dbi = MDB_dbi()
        guard mdb_dbi_open(txn, database, 0, &dbi) == 0 else { throw NSError(domain: "raw", code: 3) }
        do { try body(txn!, dbi) } catch { mdb_txn_abort(txn); throw error }
        guard mdb_txn_commit(txn) == 0 else { throw NSError(domain: "raw", code: 4) }
    }

    /// Replaces the value under `key` with `transform(old)`.
    func rewrite(_ database: String, key: [UInt8], _ transform: ([UInt8]) -> [UInt8]) throws {
        try edit(database) { txn, dbi in
            var k = key
            var value = MDB_val()
            try k.withUnsafeMutableBytes { raw in
                var mk = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                guard mdb_get(txn, dbi, &mk, &value) == 0 else { throw NSError(domain: "raw", code: 5) }
                var bytes = transform([UInt8](UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size)))
                try bytes.withUnsafeMutableBytes { out in
                    var mv = MDB_val(mv_size: out.count, mv_data: out.baseAddress)
                    guard mdb_put(txn, dbi, &mk, &mv, 0) == 0 else { throw NSError(domain: "raw", code: 6) }
                }
            }
        }
    }

    /// Deletes the entry under `key`.
    func delete(_ database: String, key: [UInt8]) throws {
        try edit(database) { txn, dbi in
            var k = key
            try k.withUnsafeMutableBytes { raw in
                var mk = MDB_val(mv_size: raw.count, mv_data: raw.baseAddress)
                guard mdb_del(txn, dbi, &mk, nil) == 0 else { throw NSError(domain: "raw", code: 7) }
            }
        }
    }

    /// Number of entries in the named database.
    func count(_ database: String) throws -> Int {
        var entries = 0
        try edit(database) { txn, dbi in
            var stat = MDB_stat()
            mdb_stat(txn, dbi, &stat)
            entries = stat.ms_entries
        }
        return entries
    }

    /// The 8-byte big-endian key of a position.
    static func positionKey(_ position: UInt64) -> [UInt8] { withUnsafeBytes(of: position.bigEndian) { Array($0) } }

    /// The key of a stream index entry.
    static func streamKey(_ stream: String, _ version: UInt64) -> [UInt8] {
        Array(stream.utf8) + [0] + positionKey(version)
    }
}
