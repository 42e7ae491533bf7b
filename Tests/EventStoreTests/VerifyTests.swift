import EventStore
import XCTest

final class VerifyTests: XCTestCase {
    private func populatedLog() async throws -> String {
        let directory = try temporaryDirectory(self)
        let store = try EventStore(directory: directory, options: testOptions())
        for i in 1...40 {
            try await store.append(
                to: "customer-\(i % 5)", [event("note \(i)"), event("call \(i)")], requestId: "r-\(i)")
        }
        store.close()
        return directory
    }

    func testACleanLogVerifies() async throws {
        let directory = try await populatedLog()
        let store = try EventStore(directory: directory, options: testOptions())
        var progressCalls = 0
        let report = try store.verify(batchSize: 7) { _, _ in progressCalls += 1 }
        XCTAssertNil(report.problem)
        XCTAssertEqual(report.events, 80)
        XCTAssertEqual(report.streams, 5)
        XCTAssertEqual(report.requests, 40)
        XCTAssertEqual(report.headHash, try store.head().hash)
        XCTAssertEqual(
            EventHash(hex: report.headHash.hex), report.headHash, "an auditor can paste the printed head hash back")
        XCTAssertEqual(EventHash(bytes: report.headHash.bytes), report.headHash)
        XCTAssertNil(EventHash(hex: String(report.headHash.hex.dropLast())))
        XCTAssertEqual([0x00, 0x0F, 0xA5, 0xFF].lowercaseHex, "000fa5ff")
        XCTAssertEqual(
            (0..<3).lazy.map { UInt8($0 * 0x41) }.lowercaseHex, "004182", "a sequence without contiguous storage")
        XCTAssertEqual([UInt8]().lowercaseHex, "")
        XCTAssertGreaterThan(progressCalls, 10)
        XCTAssertEqual(try RawLMDB(path: directory).count("events"), 80, "one entry per event")
    }

    func testAFlippedByteInAStoredEventIsNamedByPosition() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).rewrite("events", key: RawLMDB.positionKey(37)) { bytes in
            var bytes = bytes
            bytes[bytes.count - 40] ^= 0x01  // inside the payload
            return bytes
        }
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.position, 37)
        XCTAssertEqual(report.problem?.database, "events")
        XCTAssertTrue(report.problem?.reason.contains("altered") ?? false, "\(String(describing: report.problem))")
    }

    func testAnEventRewrittenWithAFreshHashBreaksTheNextLink() async throws {
        let directory = try await populatedLog()
        // A forger who recomputes the hash of the event they changed still breaks its successor.
        let store = try EventStore(directory: directory, options: testOptions())
        let original = try XCTUnwrap(store.event(at: 10))
        store.close()
        try RawLMDB(path: directory).rewrite("events", key: RawLMDB.positionKey(10)) { bytes in
            var body = Array(bytes.dropLast(32))
            body[body.count - 1] ^= 0x20
            return body + sha256(body)
        }
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.position, 11)
        XCTAssertTrue(report.problem?.reason.contains("prevHash") ?? false)
        XCTAssertNotEqual(
            original.hash, try EventStore(directory: directory, options: testOptions()).event(at: 10)?.hash)
    }

    func testADamagedStreamIndexIsNamed() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).rewrite("streams", key: RawLMDB.streamKey("customer-3", 4)) { _ in
            RawLMDB.positionKey(2)
        }
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.database, "streams")
        XCTAssertNotNil(report.problem?.position)
    }

    func testAMissingRequestIndexEntryIsNamed() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).delete("requests", key: Array("r-12".utf8))
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.database, "requests")
        XCTAssertEqual(report.problem?.position, 23, "request 12 wrote positions 23 and 24")
    }

    func testADeletedStreamIndexEntryIsNamed() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).delete("streams", key: RawLMDB.streamKey("customer-1", 3))
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.database, "streams")
        XCTAssertEqual(
            report.problem?.position, 11, "customer-1 wrote versions 1-2 at positions 1-2, versions 3-4 at 11-12")
        XCTAssertTrue(report.problem?.reason.contains("customer-1") ?? false)
    }

    func testAWrongStreamCountIsNamed() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).rewrite("meta", key: Array("streams".utf8)) { _ in RawLMDB.positionKey(4) }
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.database, "meta")
    }

    func testADeletedEventIsNamed() async throws {
        let directory = try await populatedLog()
        try RawLMDB(path: directory).delete("events", key: RawLMDB.positionKey(50))
        let report = try EventStore(directory: directory, options: testOptions()).verify()
        XCTAssertEqual(report.problem?.position, 50)
        XCTAssertTrue(report.problem?.reason.contains("missing") ?? false)
    }

    func testVerifyWhileAppendsGoOn() async throws {
        let directory = try await populatedLog()
        let store = try EventStore(directory: directory, options: testOptions())
        let writer = Task {
            for i in 0..<200 { try await store.append(to: "live-\(i % 3)", [event("\(i)")], requestId: "live-\(i)") }
        }
        var reports: [VerifyReport] = []
        while !writer.isCancelled, reports.count < 5 {
            reports.append(try store.verify(batchSize: 16))
            try await Task.sleep(for: .milliseconds(2))
        }
        try await writer.value
        XCTAssertTrue(reports.allSatisfy(\.isValid), "\(reports.compactMap(\.problem))")
        XCTAssertTrue(try store.verify().isValid)
    }
}

import Crypto

/// SHA-256 of `bytes`, as a forger would compute it.
func sha256(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
