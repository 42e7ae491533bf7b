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
