import EventStore
import XCTest

final class SubscriptionTests: XCTestCase {
    func testSubscriptionSeesHistoryThenLiveEventsInOrderWithASlowConsumer() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        for i in 1...50 { try await store.append(to: "s\(i % 4)", [event("\(i)")]) }

        let total = 250
        let consumer = Task {
            var positions: [Position] = []
            for try await event in store.subscribe(from: 1, batchSize: 16) {
                positions.append(event.position)
                if positions.count % 20 == 0 { try await Task.sleep(for: .milliseconds(5)) }  // slow reader
                if positions.count == total { break }
            }
            return positions
        }
        // Writers are not held back by the slow consumer.
        for i in 51...total { try await store.append(to: "s\(i % 4)", [event("\(i)")]) }
        XCTAssertEqual(store.headPosition, Position(total))
        let positions = try await consumer.value
        XCTAssertEqual(positions, Array(1...Position(total)))
    }

    func testSubscriptionFromTheMiddleAndLiveWait() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        for i in 1...5 { try await store.append(to: "s", [event("\(i)")]) }
        let consumer = Task {
            var texts: [String] = []
            for try await event in store.subscribe(from: 4) {
                texts.append(event.text)
                if texts.count == 4 { break }
            }
            return texts
        }
        try await Task.sleep(for: .milliseconds(50))  // the consumer is now waiting for live events
        try await store.append(to: "s", [event("6"), event("7")])
        let texts = try await consumer.value
        XCTAssertEqual(texts, ["4", "5", "6", "7"])
    }

    func testCancellingOrClosingEndsAWaitingSubscription() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "s", [event("1")])
        let cancelled = Task {
            var count = 0
            for try await _ in store.subscribe() { count += 1 }
            return count
        }
        let closed = Task {
            var count = 0
            for try await _ in store.subscribe() { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        let cancelledCount = try await cancelled.value
        XCTAssertEqual(cancelledCount, 1)
        store.close()
        let closedCount = try await closed.value
        XCTAssertEqual(closedCount, 1)
    }
}
