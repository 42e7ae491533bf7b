import EventStore
import XCTest

final class AppendTests: XCTestCase {
    func testPositionsAndVersionsStartAtOneAndAreGapFree() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let first = try await store.append(to: "customer-c1", [event("a"), event("b")])
        let second = try await store.append(to: "customer-c2", [event("c")])
        let third = try await store.append(to: "customer-c1", [event("d")])

        XCTAssertEqual(
            first.streams,
            [
                StreamAppendResult(
                    stream: "customer-c1", firstVersion: 1, lastVersion: 2, firstPosition: 1, lastPosition: 2)
            ])
        XCTAssertEqual(second.streams.first?.firstPosition, 3)
        XCTAssertEqual(second.streams.first?.lastVersion, 1)
        XCTAssertEqual(
            third.streams,
            [
                StreamAppendResult(
                    stream: "customer-c1", firstVersion: 3, lastVersion: 3, firstPosition: 4, lastPosition: 4)
            ])
        XCTAssertEqual(try store.read(from: 1, limit: 100).map(\.position), [1, 2, 3, 4])
        XCTAssertEqual(try store.readStream("customer-c1").map(\.text), ["a", "b", "d"])
        XCTAssertEqual(try store.readStream("customer-c1").map(\.version), [1, 2, 3])
    }

    func testEnvelopeCarriesActorRequestAndTracingIDs() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let request = AppendRequest(
            stream: "customer-c9", events: [ProposedEvent(type: "CallLogged", schema: 2, data: Array("{}".utf8))],
            actor: Actor(principal: "agent-7", uid: 1001), requestId: "req-1",
            correlationId: "corr-1", causationId: "cause-1")
        let result = try await store.append(request)
        let recorded = try XCTUnwrap(store.event(at: 1))

        XCTAssertEqual(recorded.type, "CallLogged")
        XCTAssertEqual(recorded.schema, 2)
        XCTAssertEqual(recorded.actor, Actor(principal: "agent-7", uid: 1001))
        XCTAssertEqual(recorded.requestId, "req-1")
        XCTAssertEqual(recorded.correlationId, "corr-1")
        XCTAssertEqual(recorded.causationId, "cause-1")
        XCTAssertEqual(recorded.recordedAt, result.recordedAt)
        XCTAssertEqual(recorded.prevHash, .genesis)
    }

    func testExpectedVersionIsEnforced() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "s", expected: .noStream, [event("1")])
        await assertStoreError({ try await store.append(to: "s", expected: .noStream, [event("x")]) }) {
            $0 == .wrongExpectedVersion(stream: "s", expected: .noStream, actual: 1)
        }
        await assertStoreError({ try await store.append(to: "s", expected: .exact(0), [event("x")]) }) {
            $0 == .wrongExpectedVersion(stream: "s", expected: .exact(0), actual: 1)
        }
        await assertStoreError({ try await store.append(to: "other", expected: .streamExists, [event("x")]) }) {
            $0 == .wrongExpectedVersion(stream: "other", expected: .streamExists, actual: 0)
        }
        try await store.append(to: "s", expected: .exact(1), [event("2")])
        try await store.append(to: "s", expected: .streamExists, [event("3")])
        try await store.append(to: "s", expected: .any, [event("4")])
        XCTAssertEqual(try store.streamVersion("s"), 4)
        XCTAssertEqual(try store.readStream("s").map(\.text), ["1", "2", "3", "4"])
        XCTAssertEqual(store.headPosition, 4, "refused appends must not consume positions")
    }

    func testMultiStreamAppendIsAllOrNothing() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        try await store.append(to: "customer-a", [event("registered")])
        let twoStreams = AppendRequest(appends: [
            StreamAppend(stream: "customer-a", expected: .exact(1), events: [event("reassigned")]),
            StreamAppend(stream: "customer-b", expected: .exact(3), events: [event("reassigned")]),
        ])
        await assertStoreError({ try await store.append(twoStreams) }) {
            $0 == .wrongExpectedVersion(stream: "customer-b", expected: .exact(3), actual: 0)
        }
        XCTAssertEqual(
            try store.streamVersion("customer-a"), 1, "the first stream must not be written when the second is refused")
        XCTAssertEqual(store.headPosition, 1)

        var fixed = twoStreams
        fixed.appends[1].expected = .noStream
        let result = try await store.append(fixed)
        XCTAssertEqual(result.streams.map(\.stream), ["customer-a", "customer-b"])
        XCTAssertEqual(result.firstPosition, 2)
        XCTAssertEqual(result.lastPosition, 3)
    }

    func testMalformedRequestsAreRefusedBeforeWriting() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let cases: [AppendRequest] = [
            AppendRequest(appends: []),
            AppendRequest(stream: "", events: [event("x")]),
            AppendRequest(stream: "s", events: []),
            AppendRequest(stream: StreamName(String(repeating: "x", count: 401)), events: [event("x")]),
            AppendRequest(stream: "s\u{0}t", events: [event("x")]),
            AppendRequest(stream: "s", events: [ProposedEvent(type: "", data: [])]),
            AppendRequest(appends: [
                StreamAppend(stream: "s", events: [event("x")]), StreamAppend(stream: "s", events: [event("y")]),
            ]),
            AppendRequest(stream: "s", events: [event("x")], requestId: ""),
        ]
        for request in cases {
            await assertStoreError({ try await store.append(request) }) {
                if case .invalidRequest = $0 { return true } else { return false }
            }
        }
        XCTAssertEqual(store.headPosition, 0)
    }

    func testPersianTextEmojiAndZWNJRoundTripByteForByte() async throws {
        let directory = try temporaryDirectory(self)
        let note = "مشتری گفت: «قیمت ۱۲٬۵۰۰٬۰۰۰ ریال زیاد است» — می‌خواهم دوباره تماس بگیرم 📞🇮🇷 ك ي"
        let bytes = Array(note.utf8)
        do {
            let store = try EventStore(directory: directory, options: testOptions())
            try await store.append(
                AppendRequest(
                    stream: "مشتری-۴۲", events: [ProposedEvent(type: "یادداشت", data: bytes)],
                    actor: Actor(principal: "کارشناس‌فروش"), requestId: "درخواست‌۱"))
            store.close()
        }
        let reopened = try EventStore(directory: directory, options: testOptions())
        let recorded = try XCTUnwrap(reopened.readStream("مشتری-۴۲").first)
        XCTAssertEqual(recorded.data, bytes)
        XCTAssertEqual(recorded.text, note)
        XCTAssertEqual(recorded.type, "یادداشت")
        XCTAssertEqual(recorded.actor.principal, "کارشناس‌فروش")
        XCTAssertEqual(recorded.requestId, "درخواست‌۱")
        XCTAssertTrue(recorded.actor.principal.unicodeScalars.contains("\u{200C}"), "ZWNJ must survive")
    }

    func testReopenContinuesTheChainAndNumbering() async throws {
        let directory = try temporaryDirectory(self)
        var lastHash: EventHash?
        do {
            let store = try EventStore(directory: directory, options: testOptions())
            try await store.append(to: "s", [event("1"), event("2")])
            lastHash = try store.head().hash
            store.close()
            await assertStoreError({ try await store.append(to: "s", [event("late")]) }) { $0 == .closed }
        }
        let store = try EventStore(directory: directory, options: testOptions())
        XCTAssertEqual(store.committedHead, 2, "the committed head is found on open")
        let result = try await store.append(to: "s", expected: .exact(2), [event("3")])
        XCTAssertEqual(result.firstPosition, 3)
        XCTAssertEqual(store.committedHead, 3, "an acknowledged append is at or below the committed head")
        XCTAssertEqual(try store.event(at: 3)?.prevHash, lastHash)
        XCTAssertTrue(try store.verify().isValid)
    }

    func testReadOnlyStoreReadsAndRefusesAppends() async throws {
        let directory = try temporaryDirectory(self)
        let writer = try EventStore(directory: directory, options: testOptions())
        try await writer.append(to: "s", [event("1")])
        // LMDB forbids one process from opening an environment twice at once.
        writer.close()
        var options = testOptions()
        options.readOnly = true
        let reader = try EventStore(directory: directory, options: options)
        XCTAssertEqual(try reader.readStream("s").map(\.text), ["1"])
        await assertStoreError({ try await reader.append(to: "s", [event("2")]) }) { $0 == .readOnly }
        XCTAssertTrue(try reader.verify().isValid)
    }
}

final class ConditionTests: XCTestCase {
    func testAConditionGuardsAStreamTheAppendDoesNotWrite() async throws {
        let store = try EventStore(directory: try temporaryDirectory(self), options: testOptions())
        defer { store.close() }
        _ = try await store.append(to: "customer-c1", [event("registered")])
        let guarded = AppendRequest(
            appends: [StreamAppend(stream: "deal-d1", expected: .noStream, events: [event("opened")])],
            conditions: [StreamCondition(stream: "customer-c1", expected: .exact(1))])
        let result = try await store.append(guarded)
        XCTAssertEqual(result.streams.map(\.stream), ["deal-d1"], "a condition is not written")
        XCTAssertEqual(try store.streamVersion("customer-c1"), 1)

        _ = try await store.append(to: "customer-c1", [event("forgotten")])
        var stale = guarded
        stale.appends[0].stream = "deal-d2"
        await assertStoreError({ try await store.append(stale) }) {
            $0 == .wrongExpectedVersion(stream: "customer-c1", expected: .exact(1), actual: 2)
        }
        XCTAssertEqual(try store.streamVersion("deal-d2"), 0, "a failed condition writes nothing")
        await assertStoreError({
            try await store.append(
                AppendRequest(
                    appends: [StreamAppend(stream: "x", events: [event("e")])],
                    conditions: [StreamCondition(stream: "x", expected: .any)]))
        }) { if case .invalidRequest = $0 { return true } else { return false } }
    }

    func testAConditionSeesWritesEarlierInTheSameBatch() async throws {
        let store = try EventStore(directory: try temporaryDirectory(self), options: testOptions())
        defer { store.close() }
        _ = try await store.append(to: "agent-a", [event("hired")])
        // Many concurrent pairs: each writer bumps agent-a; each guarded append expects version 1.
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            group.addTask { (try? await store.append(to: "agent-a", expected: .exact(1), [event("left")])) != nil }
            for i in 0..<20 {
                group.addTask {
                    (try? await store.append(
                        AppendRequest(
                            appends: [StreamAppend(stream: "customer-\(i)", events: [event("assigned to a")])],
                            conditions: [StreamCondition(stream: "agent-a", expected: .exact(1))]))) != nil
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        let committedAfterLeave = try store.read(from: 1, limit: 100).drop { $0.stream != "agent-a" || $0.version != 2 }
            .dropFirst()
        XCTAssertTrue(
            committedAfterLeave.isEmpty, "nothing guarded by agent-a at version 1 commits after it moved to 2")
        XCTAssertEqual(outcomes.filter { $0 }.count, try store.read(from: 1, limit: 100).count - 1)
    }
}
