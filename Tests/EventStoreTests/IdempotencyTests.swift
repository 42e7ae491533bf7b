import EventStore
import XCTest

final class IdempotencyTests: XCTestCase {
    func testRetryWithSameRequestIDWritesOnce() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let first = try await store.append(to: "customer-c1", [event("a"), event("b")], requestId: "r-1")
        try await store.append(to: "customer-c2", [event("other")])
        let retry = try await store.append(to: "customer-c1", [event("a"), event("b")], requestId: "r-1")

        XCTAssertFalse(first.duplicate)
        XCTAssertTrue(retry.duplicate)
        XCTAssertEqual(retry.streams, first.streams)
        XCTAssertEqual(retry.recordedAt, first.recordedAt)
        XCTAssertEqual(store.headPosition, 3)
        XCTAssertEqual(store.commitStatistics.duplicates, 1)
    }

    func testRetryIsRecognisedAfterReopen() async throws {
        let directory = try temporaryDirectory(self)
        let first: AppendResult
        do {
            let store = try EventStore(directory: directory, options: testOptions())
            first = try await store.append(to: "s", [event("a")], requestId: "r-persisted")
            store.close()
        }
        let store = try EventStore(directory: directory, options: testOptions())
        let retry = try await store.append(to: "s", [event("a")], requestId: "r-persisted")
        XCTAssertTrue(retry.duplicate)
        XCTAssertEqual(retry.streams, first.streams)
        XCTAssertEqual(store.headPosition, 1)
    }

    func testConcurrentRetriesInOneBatchWriteOnce() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let results = await withTaskGroup(of: AppendResult.self) { group in
            for _ in 0..<30 {
                group.addTask { try! await store.append(to: "s", [event("once")], requestId: "same") }
            }
            var all: [AppendResult] = []
            for await result in group { all.append(result) }
            return all
        }
        XCTAssertEqual(results.filter { !$0.duplicate }.count, 1)
        XCTAssertEqual(Set(results.map(\.streams)).count, 1, "every retry gets the first result")
        XCTAssertEqual(store.headPosition, 1)
    }

    func testRequestIDReusedForAnotherStreamIsRefused() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "customer-c1", [event("a")], requestId: "r-7")
        await assertStoreError({ try await store.append(to: "customer-c2", [event("b")], requestId: "r-7") }) {
            $0 == .duplicateRequestID(requestId: "r-7", firstStreams: ["customer-c1"])
        }
        XCTAssertEqual(store.headPosition, 1)
    }

    func testRefusedRequestDoesNotReserveItsID() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "s", [event("a")])
        await assertStoreError({ try await store.append(to: "s", expected: .noStream, [event("b")], requestId: "r-1") })
        {
            if case .wrongExpectedVersion = $0 { return true } else { return false }
        }
        let retry = try await store.append(to: "s", expected: .exact(1), [event("b")], requestId: "r-1")
        XCTAssertFalse(retry.duplicate, "a conflict writes nothing, so the same id may be used again")
        XCTAssertEqual(store.headPosition, 2)
    }
}
