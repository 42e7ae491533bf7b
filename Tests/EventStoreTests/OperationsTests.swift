import EventStore
import XCTest

final class OperationsTests: XCTestCase {
    func testTheMapGrowsPastItsInitialSizeWithoutTheCallerNoticing() async throws {
        let directory = try temporaryDirectory(self)
        let store = try EventStore(directory: directory, options: testOptions(mapSize: 256 << 10))
        let initial = try store.status().mapSize
        let payload = [UInt8](repeating: 0x61, count: 2000)
        for i in 0..<600 {  // about 1.2 MB of payload, several times the initial map
            try await store.append(to: "s\(i % 10)", [ProposedEvent(type: "Big", data: payload)])
        }
        let status = try store.status()
        XCTAssertGreaterThan(status.mapSize, initial)
        XCTAssertGreaterThan(status.commits.mapGrowths, 0)
        XCTAssertEqual(status.headPosition, 600)
        XCTAssertTrue(try store.verify().isValid)
    }

    func testMapFullIsATypedErrorWhenGrowthIsCapped() async throws {
        var options = testOptions(mapSize: 256 << 10)
        options.maxMapSize = 512 << 10
        let store = try EventStore(directory: temporaryDirectory(self), options: options)
        let payload = [UInt8](repeating: 0x62, count: 4000)
        var refused: StoreError?
        var written = 0
        for i in 0..<400 {
            do {
                try await store.append(to: "s", [ProposedEvent(type: "Big", data: payload)], requestId: "big-\(i)")
                written += 1
            } catch let error as StoreError {
                refused = error
                break
            }
        }
        guard case .mapFull? = refused else { return XCTFail("expected mapFull, got \(String(describing: refused))") }
        XCTAssertEqual(store.headPosition, Position(written), "nothing of the refused append was written")
        XCTAssertEqual(try store.readStream("s", limit: 10_000).count, written, "reads keep working")
        XCTAssertTrue(try store.verify().isValid)
    }

    func testBackupWhileWritingIsConsistentAndVerifies() async throws {
        let directory = try temporaryDirectory(self)
        let store = try EventStore(directory: directory, options: testOptions())
        for i in 0..<100 { try await store.append(to: "c\(i % 9)", [event("\(i)")], requestId: "b-\(i)") }
        let writer = Task {
            for i in 100..<400 { try await store.append(to: "c\(i % 9)", [event("\(i)")], requestId: "b-\(i)") }
        }
        let destination = (directory as NSString).deletingLastPathComponent + "/backup"
        try store.backup(to: destination)
        try await writer.value

        let copy = try EventStore(directory: destination, options: testOptions())
        let report = try copy.verify()
        XCTAssertNil(report.problem)
        XCTAssertGreaterThanOrEqual(report.events, 100)
        XCTAssertLessThanOrEqual(report.events, 400)
        XCTAssertEqual(
            try copy.head().hash, try store.event(at: report.headPosition)?.hash,
            "the copy is a prefix of the live log")
        let resumed = try await copy.append(to: "c0", [event("after restore")])
        XCTAssertEqual(resumed.firstPosition, report.headPosition + 1)
        XCTAssertThrowsError(try store.backup(to: destination)) { error in
            XCTAssertEqual(error as? StoreError, .destinationNotEmpty(path: destination))
        }
    }

    func testStatusReportsHeadStreamsAndReaders() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "a", [event("1"), event("2")], requestId: "x")
        try await store.append(to: "b", [event("3")])
        let status = try store.status()
        XCTAssertEqual(status.headPosition, 3)
        XCTAssertEqual(status.streams, 2)
        XCTAssertEqual(status.requests, 1)
        XCTAssertEqual(status.headHash, try store.event(at: 3)?.hash)
        XCTAssertEqual(status.commits.events, 3)
        XCTAssertEqual(status.staleReadersCleared, 0)
    }

    func testANewerStoredFormatIsRefusedWithAClearError() async throws {
        let directory = try temporaryDirectory(self)
        try EventStore(directory: directory, options: testOptions()).close()
        try RawLMDB(path: directory).rewrite("meta", key: Array("format".utf8)) { _ in RawLMDB.positionKey(9) }
        XCTAssertThrowsError(try EventStore(directory: directory, options: testOptions())) { error in
            XCTAssertEqual(error as? StoreError, .unsupportedFormat(found: 9, supported: 1))
        }
    }
}
