import EventStore
import XCTest

final class ReadTests: XCTestCase {
    func testStreamReadsForwardAndBackwardFromAVersion() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        for i in 1...10 {
            try await store.append(to: "s", [event("\(i)")])
            try await store.append(to: "noise", [event("n\(i)")])
        }
        XCTAssertEqual(try store.readStream("s", from: 4, limit: 3).map(\.text), ["4", "5", "6"])
        XCTAssertEqual(
            try store.readStream("s", from: 4, direction: .backward, limit: 10).map(\.text), ["4", "3", "2", "1"])
        XCTAssertEqual(try store.readStream("s", from: .max, direction: .backward, limit: 2).map(\.text), ["10", "9"])
        XCTAssertEqual(try store.readStream("s", from: 11), [])
        XCTAssertEqual(try store.readStream("missing"), [])
    }

    func testReadingTheLogInBatches() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        for i in 1...25 { try await store.append(to: "s\(i % 3)", [event("\(i)")]) }
        var seen: [Position] = []
        try store.scan(from: 3, batchSize: 4) { event in
            seen.append(event.position)
            return true
        }
        XCTAssertEqual(seen, Array(3...25))
        var limited: [Position] = []
        try store.scan(from: 1, to: 7, batchSize: 3) {
            limited.append($0.position); return true
        }
        XCTAssertEqual(limited, Array(1...7))
        XCTAssertEqual(try store.read(from: 24, limit: 10).map(\.position), [24, 25])
        XCTAssertEqual(try store.read(from: 26, limit: 10), [])
    }

    func testStreamAsItStoodAtAPastPositionAndTime() async throws {
        let clock = ManualClock("2026-03-01T09:00:00Z")
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions(clock: clock.read))
        try await store.append(to: "customer-c1", [event("registered")])  // 1, 1 March
        clock.set("2026-03-03T10:00:00Z")
        try await store.append(to: "customer-c1", [event("price quoted: 100")])  // 2, 3 March
        try await store.append(to: "customer-c2", [event("registered")])  // 3, 3 March
        clock.set("2026-03-05T08:30:00Z")
        try await store.append(to: "customer-c1", [event("price changed: 90")])  // 4, 5 March

        XCTAssertEqual(try store.readStream("customer-c1", upTo: 3).map(\.text), ["registered", "price quoted: 100"])
        XCTAssertEqual(try store.readStream("customer-c1", upTo: 0), [])
        XCTAssertEqual(try store.position(asOf: Timestamp(rfc3339: "2026-03-03T23:59:59Z")!), 3)
        XCTAssertEqual(
            try store.position(asOf: Timestamp(rfc3339: "2026-03-03T10:00:00Z")!), 3,
            "an instant includes what was stored at it")
        XCTAssertEqual(try store.position(asOf: Timestamp(rfc3339: "2026-02-28T00:00:00Z")!), 0)
        XCTAssertEqual(try store.position(asOf: Timestamp(rfc3339: "2030-01-01")!), 4)
        XCTAssertEqual(
            try store.readStream("customer-c1", asOf: Timestamp(rfc3339: "2026-03-04")!).map(\.text),
            ["registered", "price quoted: 100"])
        let changed = try XCTUnwrap(store.readStream("customer-c1").last)
        XCTAssertEqual(changed.recordedAt, Timestamp(rfc3339: "2026-03-05T08:30:00Z"))
    }

    func testRecordedAtNeverGoesBackwardsWhenTheClockDoes() async throws {
        let clock = ManualClock("2026-05-01T12:00:00Z")
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions(clock: clock.read))
        try await store.append(to: "s", [event("1")])
        clock.set("2026-04-30T12:00:00Z")
        try await store.append(to: "s", [event("2")])
        let times = try store.readStream("s").map(\.recordedAt)
        XCTAssertEqual(times[1], times[0])
        XCTAssertTrue(try store.verify().isValid)
    }

    func testAsOfOverManyAppendsEqualsFilteringByPosition() async throws {
        let clock = ManualClock("2026-01-01T00:00:00Z")
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions(clock: clock.read))
        var random = SystemRandomNumberGenerator()
        var base = Timestamp(rfc3339: "2026-01-01T00:00:00Z")!.microsecondsSince1970
        for i in 0..<300 {
            base += Int64.random(in: 0...5_000_000, using: &random)
            clock.set(Timestamp(microsecondsSince1970: base).rfc3339)
            try await store.append(to: "c\(i % 7)", [event("\(i)")])
        }
        let all = try store.read(from: 1, limit: 1000)
        for probe in stride(from: 0, to: all.count, by: 13) {
            let time = all[probe].recordedAt
            let expected = all.filter { $0.recordedAt <= time && $0.stream == "c3" }
            XCTAssertEqual(try store.readStream("c3", asOf: time), expected)
        }
    }
}
