import EventStore
import Foundation

/// What all connections share: limits, counts, and the drain on shutdown.
final class ServerState: Sendable {
    /// Most connections at once; more are told `unavailable` and closed.
    let maxConnections: Int
    /// Most requests of one connection in flight before it stops being read (backpressure).
    let maxInFlight: Int
    /// Seconds a connection may sit idle (nothing in flight) before it is closed.
    let idleSeconds: Int64
    /// Seconds a subscriber may leave an event unread before it is cut off.
    let subscriberSeconds: Int64
    private let counts = Locked((connections: 0, inFlight: 0, draining: false))

    /// Sets the limits.
    init(maxConnections: Int, maxInFlight: Int, idleSeconds: Int64, subscriberSeconds: Int64) {
        self.maxConnections = maxConnections
        self.maxInFlight = maxInFlight
        self.idleSeconds = idleSeconds
        self.subscriberSeconds = subscriberSeconds
    }

    /// Counts a new connection in; false when the limit is reached or the server is draining.
    func open() -> Bool {
        counts.withLock { state in
            guard state.connections < maxConnections, !state.draining else { return false }
            state.connections += 1
            return true
        }
    }

    /// Counts a connection out.
    func close() { counts.withLock { $0.connections -= 1 } }

    /// Counts a request in; false once draining (it is answered `unavailable`).
    func begin() -> Bool {
        counts.withLock { state in
            guard !state.draining else { return false }
            state.inFlight += 1
            return true
        }
    }

    /// Counts a request out.
    func end() { counts.withLock { $0.inFlight -= 1 } }

    /// Stops taking requests; returns once none is in flight or `timeout` passed.
    func drain(timeout: Duration) async {
        counts.withLock { $0.draining = true }
        let deadline = ContinuousClock.now + timeout
        while counts.withLock({ $0.inFlight }) > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Connections open now.
    var connections: Int { counts.withLock { $0.connections } }
}
