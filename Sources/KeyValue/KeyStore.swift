import EventStore
import Foundation

/// Per-owner secret keys in their own LMDB environment (`DIR/keys`), for crypto-shredding.
///
/// A destroyed key is gone from the file, not just unlinked from the B-tree: LMDB leaves
/// freed pages' bytes in place until they are reused, so `destroy` rewrites the environment
/// as a compacted copy (live pages only) and swaps it in. Backups taken afterwards cannot
/// contain the key. Owners whose key was destroyed are remembered, so no new key is ever
/// issued under their name.
///
/// Thread-safe: every operation holds `lock`, which also guards the environment swap. Reads
/// share it, because the projector's read-ahead looks up a key for every sealed event on both
/// cores at once.
public final class KeyStore: @unchecked Sendable {
    // @unchecked: `environment` and `keys`/`destroyed` are only touched while holding `lock`
    // (reads on its shared side, writes, the swap and close on its exclusive side).
    private let lock = ReadWriteLock(preferWriters: true)
    private var environment: LMDBEnvironment
    private var keys: LMDBDatabase
    private var destroyed: LMDBDatabase
    /// The environment's directory.
    public let directory: String

    /// Opens (creating) the key environment in `directory`.
    public init(directory: String) throws {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            try? FileManager.default.removeItem(atPath: KeyStore.scrubDirectory(directory))
            (environment, keys, destroyed) = try KeyStore.open(directory)
        } catch {
            throw StoreError.wrap(error)
        }
    }

    private static func scrubDirectory(_ directory: String) -> String { directory + ".scrub" }

    private static func open(_ directory: String) throws -> (LMDBEnvironment, LMDBDatabase, LMDBDatabase) {
        let environment = try LMDBEnvironment(
            path: directory, mapSize: 1 << 30, maxReaders: 126, maxDatabases: 4, readOnly: false)
        _ = try environment.clearStaleReaders()
        return (
            environment, try environment.openDatabase("keys", create: true),
            try environment.openDatabase("destroyed", create: true)
        )
    }

    /// Closes the environment.
    public func close() {
        lock.exclusive { environment.close() }
    }

    /// The key of `owner`, or nil when it has none (never had one, or it was destroyed).
    public func key(for owner: String) throws -> [UInt8]? {
        try lock.shared {
            try EventStore.storageCall {
                try environment.read { try $0.withValue(keys, key: Array(owner.utf8)) { $0.map { Array($0) } } }
            }
        }
    }

    /// Whether `owner`'s key was destroyed.
    public func isDestroyed(_ owner: String) throws -> Bool {
        try lock.shared {
            try EventStore.storageCall {
                try environment.read { try $0.withValue(destroyed, key: Array(owner.utf8)) { $0 != nil } }
            }
        }
    }

    /// Returns `owner`'s key, storing `make()` durably first when it has none.
    ///
    /// Throws `invalidRequest` for an owner whose key was destroyed: their data stays erased.
    /// Blocks its thread for a disk flush: async callers use `storeKey`.
    public func keyCreatingIfNeeded(for owner: String, _ make: () -> [UInt8]) throws -> [UInt8] {
        if let existing = try key(for: owner) { return existing }
        let batch = KeyBatch(requests: [(owner, make())])
        write(batch)
        return try batch.outcome(owner)
    }

    /// Stores `bytes` as `owner`'s key unless it has one, and returns the key it has.
    ///
    /// New keys are group-committed on the store's own writer queue: callers await without
    /// holding a thread, and those that arrive during a flush go to disk together in the next,
    /// so a hundred concurrent registrations cost a few flushes, not a hundred. Throws
    /// `invalidRequest` for an owner whose key was destroyed.
    public func storeKey(_ bytes: [UInt8], for owner: String) async throws -> [UInt8] {
        if let existing = try key(for: owner) { return existing }
        return try await withCheckedThrowingContinuation { continuation in
            let flush = pending.withLock { state -> Bool in
                state.waiting.append((owner, bytes, continuation))
                defer { state.scheduled = true }
                return !state.scheduled
            }
            if flush { writer.async { self.flushPending() } }
        }
    }

    /// Keys waiting for the writer queue, and whether a flush is scheduled.
    private struct Pending {
        var waiting: [(owner: String, bytes: [UInt8], continuation: CheckedContinuation<[UInt8], Error>)] = []
        var scheduled = false
    }

    private let pending = Locked(Pending())
    private let writer = DispatchQueue(label: "crmd.keys.writer")

    /// Writes everything waiting, batch after batch, until nothing is.
    private func flushPending() {
        while true {
            let waiting = pending.withLock { state in
                defer { state.waiting = [] }
                if state.waiting.isEmpty { state.scheduled = false }
                return state.waiting
            }
            guard !waiting.isEmpty else { return }
            let batch = KeyBatch(requests: waiting.map { ($0.owner, $0.bytes) })
            write(batch)
            for request in waiting {
                request.continuation.resume(with: Result { try batch.outcome(request.owner) })
            }
        }
    }

    /// Keys written in one transaction, and the outcome of each.
    private final class KeyBatch: @unchecked Sendable {
        // @unchecked: touched only by the one thread writing it, then read after.
        let requests: [(owner: String, key: [UInt8])]
        var results: [String: Result<[UInt8], Error>] = [:]

        init(requests: [(owner: String, key: [UInt8])]) { self.requests = requests }

        func outcome(_ owner: String) throws -> [UInt8] {
            guard let result = results[owner] else { throw StoreError.closed }
            return try result.get()
        }
    }

    /// Writes a batch in one durable transaction; an existing key wins over a new one, a
    /// destroyed owner gets none.
    private func write(_ batch: KeyBatch) {
        do {
            try lock.exclusive {
                try EventStore.storageCall {
                    try environment.write { txn in
                        for (owner, candidate) in batch.requests where batch.results[owner] == nil {
                            let name = Array(owner.utf8)
                            if let existing = try txn.withValue(keys, key: name, { $0.map { Array($0) } }) {
                                batch.results[owner] = .success(existing)
                            } else if try txn.withValue(destroyed, key: name, { $0 != nil }) {
                                batch.results[owner] = .failure(
                                    StoreError.invalidRequest("the key of \(owner) was destroyed; no new key is issued"))
                            } else {
                                try txn.put(keys, key: name, value: candidate)
                                batch.results[owner] = .success(candidate)
                            }
                        }
                    }
                }
            }
        } catch {
            for (owner, _) in batch.requests { batch.results[owner] = .failure(error) }
        }
    }

    /// Writes a consistent, compacted copy of the key environment into the empty directory
    /// `destination` (destroyed keys are not in it: compaction copies live pages only).
    public func backup(to destination: String) throws {
        try FileManager.default.createDirectory(
            atPath: destination, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try lock.shared { try EventStore.storageCall { try environment.copy(to: destination, compact: true) } }
    }

    /// Destroys `owner`'s key for good and scrubs it from the file; true when there was one.
    @discardableResult
    public func destroy(_ owner: String, at time: Timestamp = .now()) throws -> Bool {
        try lock.exclusive {
            try EventStore.storageCall {
                let existed = try environment.write { txn in
                    let name = Array(owner.utf8)
                    var stamp = time.microsecondsSince1970.bigEndian
                    try txn.put(destroyed, key: name, value: withUnsafeBytes(of: &stamp) { Array($0) })
                    return try txn.delete(keys, key: name)
                }
                try scrub()
                return existed
            }
        }
    }

    /// Rewrites the environment with live pages only, so freed pages holding old keys vanish.
    private func scrub() throws {
        let fm = FileManager.default
        let scrub = KeyStore.scrubDirectory(directory)
        try? fm.removeItem(atPath: scrub)
        try fm.createDirectory(
            atPath: scrub, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try environment.copy(to: scrub, compact: true)
        environment.close()
        // rename(2) is atomic: a crash leaves either the old file (key deleted, maybe still in a
        // free page; the next destroy scrubs it) or the compacted one.
        guard rename(scrub + "/data.mdb", directory + "/data.mdb") == 0 else {
            let code = errno
            (environment, keys, destroyed) = try KeyStore.open(directory)
            throw StoreError.system("rename", code: code)
        }
        try? syncDirectory(directory)
        try? fm.removeItem(atPath: scrub)
        (environment, keys, destroyed) = try KeyStore.open(directory)
    }
}

/// Syncs `directory`, so a file created, renamed or removed in it stays so after a crash.
func syncDirectory(_ directory: String) throws {
    let fd = open(directory, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw StoreError.system("open(\(directory))") }
    defer { close(fd) }
    guard fsync(fd) == 0 else { throw StoreError.system("fsync(\(directory))") }
}
