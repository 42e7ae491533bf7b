import Foundation

/// A value behind a pthread mutex: what `Synchronization.Mutex` does, in a form ThreadSanitizer
/// can see. On Linux the standard library's Mutex takes its futex inside code TSan does not
/// instrument, so every value it guards is reported as raced; `make proof` runs the suite under
/// TSan, and a lock it cannot see would hide the races it is there to find.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    /// Guards `value`.
    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value while holding the lock.
    public func withLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

/// A pthread reader-writer lock: many share it, one holds it alone.
public final class ReadWriteLock: @unchecked Sendable {
    // Safe to share: the lock lives in memory allocated once and freed in deinit, and
    // pthread_rwlock_* are thread-safe by contract.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    /// A lock that lets a waiting writer go before new readers when `preferWriters` (glibc's
    /// default lets readers overtake it indefinitely), at the price that one thread must not take
    /// the shared side twice.
    public init(preferWriters: Bool) {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        if preferWriters {
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        }
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` alongside other holders of the shared side.
    public func shared<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Runs `body` alone.
    public func exclusive<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// A value behind a writer-preferring `ReadWriteLock`: many readers at once, one writer alone,
/// and a waiting writer is not starved by a stream of readers.
///
/// For state read far more often than it changes, whose readers do work worth running on
/// several cores at once (the write side's decisions). A reader must not read it again inside.
public final class SharedLocked<Value>: @unchecked Sendable {
    // @unchecked: `value` is only touched while holding `lock`.
    private let lock = ReadWriteLock(preferWriters: true)
    private var value: Value

    /// Guards `value`.
    public init(_ value: Value) { self.value = value }

    /// Runs `body` with the value, alongside other readers. `body` must not keep a copy of the
    /// value beyond its return: the next writer would then copy the whole value on write.
    public func withReadLock<R, E: Error>(_ body: (Value) throws(E) -> R) throws(E) -> R {
        try lock.shared { () throws(E) -> R in try body(value) }
    }

    /// Runs `body` with the value, alone.
    public func withWriteLock<R, E: Error>(_ body: (inout Value) throws(E) -> R) throws(E) -> R {
        try lock.exclusive { () throws(E) -> R in try body(&value) }
    }
}
