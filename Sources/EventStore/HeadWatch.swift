/// Tells waiting subscribers when the log's head moves past the position they have read.
///
/// Holds no events: a subscriber that is woken reads them from the log itself, so a slow
/// subscriber costs the writer nothing and memory does not grow with its backlog.
final class HeadWatch: Sendable {
    private struct State {
        var head: Position
        var closed = false
        var nextWaiter = 0
        var waiters: [Int: (after: Position, continuation: CheckedContinuation<Position?, Never>)] = [:]
    }

    private let state: Locked<State>

    init(head: Position) {
        state = Locked(State(head: head))
    }

    /// The last position known to be committed.
    var head: Position { state.withLock { $0.head } }

    /// Records a new head and wakes every waiter it satisfies.
    func publish(_ head: Position) {
        let ready = state.withLock { state -> [CheckedContinuation<Position?, Never>] in
            guard head > state.head else { return [] }
            state.head = head
            let satisfied = state.waiters.filter { $0.value.after < head }
            for key in satisfied.keys { state.waiters.removeValue(forKey: key) }
            return satisfied.values.map(\.continuation)
        }
        for continuation in ready { continuation.resume(returning: head) }
    }

    /// Wakes every waiter with nil; later waits return nil at once.
    func close() {
        let all = state.withLock { state in
            state.closed = true
            defer { state.waiters.removeAll() }
            return state.waiters.values.map(\.continuation)
        }
        for continuation in all { continuation.resume(returning: nil) }
    }

    /// Returns the head once it is beyond `position`; nil when the store closed or the task was cancelled.
    func wait(after position: Position) async -> Position? {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Position?, Never>) in
                let immediate: Position?? = state.withLock { state in
                    if state.closed || Task.isCancelled { return .some(nil) }
                    if state.head > position { return .some(state.head) }
                    state.waiters[id] = (position, continuation)
                    return .none
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.continuation.resume(returning: nil)
        }
    }
}
