/// Events from a position on: first the history, then live events as they are committed.
///
/// Pull-based: the iterator reads the log in batches when its consumer asks for more, and
/// sleeps on the store's `HeadWatch` once it has caught up. A slow consumer therefore never
/// blocks writers and never buffers more than one batch. The sequence ends (returns nil)
/// when the task is cancelled or the store is closed.
public struct LogSubscription: AsyncSequence, Sendable {
    public typealias Element = RecordedEvent

    let store: EventStore
    let from: Position
    let batchSize: Int

    public func makeAsyncIterator() -> Iterator {
        Iterator(store: store, next: from, batchSize: batchSize)
    }

    /// Walks the log, then waits for new events.
    public struct Iterator: AsyncIteratorProtocol {
        let store: EventStore
        var next: Position
        let batchSize: Int
        var buffer: [RecordedEvent] = []
        var index = 0

        /// The next event in log order, waiting for it if necessary; nil once cancelled or closed.
        public mutating func next() async throws -> RecordedEvent? {
            while true {
                if index < buffer.count {
                    defer { index += 1 }
                    next = buffer[index].position + 1
                    return buffer[index]
                }
                if Task.isCancelled { return nil }
                do {
                    buffer = try store.read(from: next, limit: batchSize)
                } catch StoreError.closed {
                    return nil
                }
                index = 0
                if buffer.isEmpty {
                    guard await store.headWatch.wait(after: next - 1) != nil else { return nil }
                }
            }
        }
    }
}
