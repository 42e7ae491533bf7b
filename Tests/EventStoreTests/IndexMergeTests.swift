import EventStore
import XCTest

/// The `streams` and `requests` indexes trail the log and are merged in batches; these tests
/// check that nothing a reader or writer sees depends on where that boundary lies.
final class IndexMergeTests: XCTestCase {
    private func store(threshold: Int, directory: String? = nil) throws -> EventStore {
        var options = testOptions()
        options.indexMergeThreshold = threshold
        return try EventStore(directory: directory ?? temporaryDirectory(self), options: options)
    }

    func testReadsVersionsAndRetriesAreTheSameOnBothSidesOfTheBoundary() async throws {
        let store = try store(threshold: 7)
        var expected: [StreamName: [String]] = [:]
        var results: [String: AppendResult] = [:]
        for i in 0..<60 {
            let stream: StreamName = "customer-\(i % 4)"
            let version = StreamVersion(expected[stream]?.count ?? 0)
            let texts = (0...(i % 2)).map { "\(i).\($0)" }
            results["r\(i)"] = try await store.append(
                to: stream, expected: .exact(version), texts.map { event($0) }, requestId: "r\(i)")
            expected[stream, default: []] += texts
            // After every append: full reads, backward reads and versions agree with what was written.
            for (name, all) in expected {
                XCTAssertEqual(try store.readStream(name).map(\.text), all)
                XCTAssertEqual(try store.streamVersion(name), StreamVersion(all.count))
                XCTAssertEqual(
                    try store.readStream(name, from: .max, direction: .backward, limit: 3).map(\.text),
                    Array(all.suffix(3).reversed()))
            }
        }
        XCTAssertGreaterThan(store.commitStatistics.indexMerges, 3)
        // Retries of old (indexed) and recent (tail) requests write nothing and return the first result.
        for id in ["r0", "r30", "r58", "r59"] {
            let stream = results[id]!.streams[0].stream
            let retry = try await store.append(to: stream, [event("again")], requestId: id)
            XCTAssertTrue(retry.duplicate, id)
            XCTAssertEqual(retry.streams, results[id]!.streams, id)
        }
        // Conflicts are detected for streams whose latest events are still unindexed.
        await assertStoreError({ try await store.append(to: "customer-3", expected: .exact(1), [event("stale")]) }) {
            if case .wrongExpectedVersion = $0 { return true } else { return false }
        }
        let report = try store.verify()
        XCTAssertNil(report.problem)
        XCTAssertEqual(report.requests, 60)
        XCTAssertEqual(try store.status().requests, 60)
    }

    func testIndexEntriesBeyondTheBoundaryAreNamed() async throws {
        let directory = try temporaryDirectory(self)
        do {
            let first = try store(threshold: 1_000_000, directory: directory)
            for i in 0..<20 { try await first.append(to: "s\(i % 3)", [event("\(i)")], requestId: "q\(i)") }
            first.close()  // merges the tail
        }
        let reopened = try store(threshold: 1_000_000, directory: directory)
        for i in 20..<30 { try await reopened.append(to: "s\(i % 3)", [event("\(i)")], requestId: "q\(i)") }
        reopened.close()
        try RawLMDB(path: directory).rewrite("meta", key: Array("indexed".utf8)) { _ in RawLMDB.positionKey(20) }
        // Positions 21-30 are now indexed beyond the boundary: verify must say so.
        let damaged = try store(threshold: 1_000_000, directory: directory)
        let report = try damaged.verify()
        XCTAssertEqual(report.problem?.position, 21)
        XCTAssertTrue(
            report.problem?.reason.contains("beyond the indexed boundary") ?? false,
            "\(String(describing: report.problem))")
        damaged.close()
    }

    func testTailOnlyStreamsAndRequestsSurviveAReopen() async throws {
        let directory = try temporaryDirectory(self)
        var options = testOptions()
        options.indexMergeThreshold = 1_000_000
        let store = try EventStore(directory: directory, options: options)
        for i in 0..<10 { try await store.append(to: "t\(i % 2)", [event("\(i)")], requestId: "t\(i)") }
        XCTAssertEqual(store.commitStatistics.indexMerges, 0)
        // Readers find unindexed events by scanning the tail.
        XCTAssertEqual(try store.readStream("t1").map(\.text), ["1", "3", "5", "7", "9"])
        XCTAssertEqual(try store.readStream("t0", upTo: 5).map(\.text), ["0", "2", "4"])
        XCTAssertTrue(try store.verify().isValid)
        let retry = try await store.append(to: "t1", [event("x")], requestId: "t3")
        XCTAssertTrue(retry.duplicate)
    }

    func testASecondWriterIsRefusedAndAReaderIsNot() async throws {
        let directory = try temporaryDirectory(self)
        let writer = try EventStore(directory: directory, options: testOptions())
        try await writer.append(to: "s", [event("1")])
        XCTAssertThrowsError(try EventStore(directory: directory, options: testOptions())) { error in
            guard case .locked(_, let holder)? = error as? StoreError else {
                return XCTFail("expected locked, got \(error)")
            }
            XCTAssertEqual(holder, getpid())
        }
        writer.close()
        let next = try EventStore(directory: directory, options: testOptions())
        XCTAssertEqual(try next.readStream("s").map(\.text), ["1"])
    }
}
