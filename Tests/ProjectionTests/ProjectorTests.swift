import CRMEvents
import CRMTestSupport
import Commands
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections
import XCTest

/// A counter under the name `counter`, at two code versions, to watch version-triggered rebuilds.
struct CounterV1: Projection {
    static let name = "counter"
    static let version = 1
    static let tables = ["counter"]
    func apply(_ event: ProjectedEvent, in txn: KeyValueTransaction) throws {
        let count = try txn.get("counter", [0]).map { Int($0[0]) << 8 | Int($0[1]) } ?? 0
        try txn.put("counter", [0], [UInt8((count + 1) >> 8), UInt8((count + 1) & 0xFF)])
    }
}

struct CounterV2: Projection {
    static let name = "counter"
    static let version = 2
    static let tables = ["counter"]
    func apply(_ event: ProjectedEvent, in txn: KeyValueTransaction) throws {
        try CounterV1().apply(event, in: txn)
    }
}

final class ProjectorTests: XCTestCase {
    /// The helper executable, built beside the test bundle.
    static var childPath: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map {
            $0.appendingPathComponent("store-crash-child").path
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Appends a mixed, seeded history of about `commands` commands.
    func writeHistory(_ company: Company, commands: Int, seed: UInt64, offset: Int = 0) async throws {
        var rng = SeededGenerator(seed: seed)
        for step in offset..<(offset + commands) {
            let customer = "c\(Int.random(in: 0..<(10 + step / 10), using: &rng))"
            let op: String
            let args: String
            switch Int.random(in: 0..<6, using: &rng) {
            case 0:
                (op, args) = (
                    "customer.register",
                    #"{"customerId": "\#(customer)", "name": "مشتری \#(step)", "agentId": "maryam"}"#
                )
            case 1:
                (op, args) = (
                    "note.add", #"{"customerId": "\#(customer)", "text": "یادداشت \#(step)", "agentId": "ali"}"#
                )
            case 2:
                (op, args) = (
                    "invoice.issue",
                    #"{"customerId": "\#(customer)", "agentId": "ali", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-12-01T00:00:00Z"}"#
                )
            case 3: (op, args) = ("customer.edit", #"{"customerId": "\#(customer)", "tags": ["t\#(step)"]}"#)
            case 4: (op, args) = ("deal.open", #"{"customerId": "\#(customer)", "agentId": "maryam"}"#)
            default:
                (op, args) = (
                    "call.log", #"{"customerId": "\#(customer)", "agentId": "maryam", "direction": "inbound"}"#
                )
            }
            _ = try? await company.service.execute(op, try JSON.parse(args))  // refusals (unknown customer, …) are part of life
        }
    }

    func testEventsAreFoldedOnceAndCheckpointsReachTheHead() async throws {
        let company = try Company(self)
        try await company.seed()
        try await writeHistory(company, commands: 200, seed: 7)
        let projector = try company.projector()
        let head = try company.store.head().position
        XCTAssertEqual(try projector.status().map(\.lag), [head.rawValue, head.rawValue, head.rawValue])
        XCTAssertEqual(try projector.catchUp(batchSize: 33), Int(head))
        XCTAssertEqual(try projector.status().map(\.checkpoint), [head, head, head])
        XCTAssertEqual(try projector.catchUp(), 0, "nothing is folded twice")
        var expected: [String: UInt64] = [:]
        for event in try company.log() { expected[event.type, default: 0] += 1 }
        XCTAssertEqual(try EventCounts.counts(projector), expected)
    }

    func testANewOrChangedProjectionRebuildsItselfWhileTheOthersCarryOn() async throws {
        let company = try Company(self)
        try await company.seed()
        let directory = company.directory + "/versioned"
        let first = try Projector(
            store: company.store, directory: directory, projections: [EventCounts(), CounterV1()])
        try first.catchUp()
        first.close()
        try await writeHistory(company, commands: 20, seed: 1)
        let head = try company.store.head().position

        let second = try Projector(
            store: company.store, directory: directory, projections: [EventCounts(), CounterV2(), CustomerTimeline()])
        defer { second.close() }
        let before = try second.status()
        XCTAssertEqual(before.map(\.name), ["event-counts", "counter", "customer-timeline"])
        XCTAssertEqual(before[0].checkpoint, 6, "the unchanged projection keeps its checkpoint")
        XCTAssertEqual(before[1].checkpoint, 0, "a new version starts again from position 1")
        XCTAssertEqual(before[2].checkpoint, 0, "a new projection starts from position 1")
        try second.catchUp()
        XCTAssertEqual(try second.status().map(\.checkpoint), [head, head, head])
        let counter = try second.state.read { try $0.get("counter", [0]) }.map { Int($0[0]) << 8 | Int($0[1]) }
        XCTAssertEqual(counter, Int(head), "the rebuilt counter saw every event exactly once")
        XCTAssertThrowsError(try second.rebuild(["nope"]))
    }

    func testFollowingLiveKeepsUpWithAppends() async throws {
        let company = try Company(self)
        try await company.seed()
        let projector = try company.projector()
        let follower = Task { try await projector.run(batchSize: 64) }
        try await writeHistory(company, commands: 100, seed: 3)
        let head = try company.store.head().position
        let deadline = ContinuousClock.now + .seconds(10)
        while try projector.checkpoint() < head, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        XCTAssertEqual(try projector.checkpoint(), head)
        follower.cancel()
        _ = try await follower.value
        XCTAssertEqual(try projector.status().map(\.lag), [0, 0, 0])
    }

    func testFollowingLiveFoldsAtOnceAtRestAndAtMostOncePerIntervalUnderLoad() async throws {
        let company = try Company(self)
        try await company.seed()
        let projector = try company.projector()
        let follower = Task { try await projector.run(interval: .seconds(3)) }
        func waitFor(_ position: Position, within seconds: Int) async throws -> Bool {
            let deadline = ContinuousClock.now + .seconds(seconds)
            while try projector.checkpoint() < position, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            return try projector.checkpoint() >= position
        }
        // At rest the seed is folded at once, far sooner than the interval.
        let seeded = try company.store.head().position
        let startedAt = ContinuousClock.now
        let seededInTime = try await waitFor(seeded, within: 2)
        XCTAssertTrue(seededInTime, "an event at rest waits for no interval")
        // The next events come within the interval of that fold: they wait for it to pass.
        try await company.register("c1")
        let registered = try company.store.head().position
        try await Task.sleep(for: .milliseconds(300))
        if ContinuousClock.now - startedAt < .seconds(2) {
            XCTAssertEqual(try projector.checkpoint(), seeded, "folded again before the interval had passed")
        }
        let registeredInTime = try await waitFor(registered, within: 10)
        XCTAssertTrue(registeredInTime, "the gathered events are folded once the interval has passed")
        follower.cancel()
        _ = try await follower.value
    }

    func testFollowingLiveEndsCleanlyWhenCancelledWhileEventsWaitForTheInterval() async throws {
        let company = try Company(self)
        try await company.seed()
        let projector = try company.projector()
        let follower = Task { try await projector.run(interval: .seconds(30)) }
        let seeded = try company.store.head().position
        let deadline = ContinuousClock.now + .seconds(10)
        while try projector.checkpoint() < seeded, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        // An event now waits out the interval; the daemon stops meanwhile (SIGTERM cancels the
        // follower), which must end the follower, not fail it and the daemon's exit status.
        try await company.register("c1")
        try await Task.sleep(for: .milliseconds(100))
        follower.cancel()
        do {
            try await follower.value
        } catch {
            XCTFail("a follower cancelled while waiting threw \(error)")
        }
        XCTAssertEqual(try projector.checkpoint(), seeded, "the waiting event was left for the next start")
    }

    func testLiveProjectionsKilledMidBatchEqualAFullRebuild() async throws {
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: ProjectorTests.childPath), "build store-crash-child first")
        let company = try Company(self)
        try await company.seed()
        var generator = SystemRandomNumberGenerator()
        var killedWhileBehind = 0
        for round in 0..<6 {
            try await writeHistory(company, commands: 300, seed: UInt64(round), offset: round * 300)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: ProjectorTests.childPath)
            process.arguments = ["project", company.directory]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            let handle = pipe.fileHandleForReading
            var output = Data()
            let start = ContinuousClock.now
            while !String(decoding: output, as: UTF8.self).contains("projecting"),
                ContinuousClock.now - start < .seconds(30)
            {
                output.append(handle.availableData)
            }
            try await Task.sleep(for: .microseconds(Int.random(in: 500...12_000, using: &generator)))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationReason, .uncaughtSignal, "round \(round)")
            let probe = try Projector(
                store: company.store, directory: company.directory + "/projections",
                projections: Projections.all(keys: company.keys))
            if try probe.checkpoint() < company.store.head().position { killedWhileBehind += 1 }
            probe.close()
        }
        XCTAssertGreaterThan(killedWhileBehind, 0, "some kills must land before the projector caught up")

        let live = try company.projector()
        try live.catchUp()
        let rebuilt = try projector(company, in: "rebuilt")
        try rebuilt.rebuild()
        let liveState = try live.exportState()
        let rebuiltState = try rebuilt.exportState()
        XCTAssertEqual(
            differing(liveState, rebuiltState), [], "killed and resumed equals built in one go, table by table")
        XCTAssertEqual(liveState.keys.sorted(), rebuiltState.keys.sorted())
        XCTAssertGreaterThan(liveState.values.map(\.count).reduce(0, +), 500, "the comparison covers real state")
        var expected: [String: UInt64] = [:]
        for event in try company.log() { expected[event.type, default: 0] += 1 }
        XCTAssertEqual(try EventCounts.counts(live), expected, "no event was counted twice or missed")
    }

    func testFollowingLiveOverALongRandomHistoryEqualsAFullRebuild() async throws {
        let company = try Company(self)
        try await company.seed()
        let live = try company.projector()
        let follower = Task { try await live.run(batchSize: 50) }
        try await writeHistory(company, commands: 1500, seed: 42)
        let head = try company.store.head().position
        let deadline = ContinuousClock.now + .seconds(20)
        while try live.checkpoint() < head, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        follower.cancel()
        _ = try await follower.value
        let rebuilt = try projector(company, in: "rebuilt")
        try rebuilt.rebuild()
        let liveState = try live.exportState()
        let rebuiltState = try rebuilt.exportState()
        XCTAssertEqual(differing(liveState, rebuiltState), [], "followed live equals rebuilt, table by table")
        XCTAssertGreaterThan(head, 800, "a long history (commands about unknown customers are refused)")
        // In batches of 7 every batch after the first is read, decoded and prepared (sealed
        // values opened, search tokens hashed) on the read-ahead thread while the one before it
        // folds; in one batch of 8192 all of it happens inline. The states must be the same.
        let readAhead = try projector(company, in: "read-ahead")
        try readAhead.rebuild(batchSize: 7)
        let readAheadState = try readAhead.exportState()
        XCTAssertEqual(differing(rebuiltState, readAheadState), [], "read ahead equals inline, table by table")
        XCTAssertFalse(readAheadState["search"]?.isEmpty ?? true, "the comparison covers search tokens")
        // In batches of 512 each batch is also decoded and prepared in slices on every core,
        // two batches ahead of the fold.
        XCTAssertGreaterThan(head, 512, "more than one batch of 512")
        let sliced = try projector(company, in: "sliced")
        try sliced.rebuild(batchSize: 512)
        XCTAssertEqual(differing(rebuiltState, try sliced.exportState()), [], "sliced equals inline, table by table")
        // Rebuilding one projection prepares for it alone; the result is the same again.
        try sliced.rebuild([CRMFacts.name], batchSize: 512)
        XCTAssertEqual(
            differing(rebuiltState, try sliced.exportState()), [], "crm-facts rebuilt alone equals all rebuilt")
    }

    func testProjectionsLeftByACutOffRebuildStartAgainAndEqualAFullRebuild() async throws {
        let company = try Company(self)
        try await company.seed()
        try await writeHistory(company, commands: 300, seed: 5)
        let directory = company.directory + "/projections"
        let first = try Projector(
            store: company.store, directory: directory, projections: Projections.all(keys: company.keys))
        try first.rebuild()
        let expected = try first.exportState()
        first.close()
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory + "/bulk-load-in-progress"),
            "a finished rebuild leaves no marker")
        // What a crash in the middle of a rebuild leaves behind: the marker, beside a file whose
        // unsynced pages cannot be trusted.
        FileManager.default.createFile(atPath: directory + "/bulk-load-in-progress", contents: Data())
        let reopened = try Projector(
            store: company.store, directory: directory, projections: Projections.all(keys: company.keys))
        defer { reopened.close() }
        XCTAssertTrue(reopened.state.discardedInterruptedBulkLoad)
        XCTAssertEqual(try reopened.checkpoint(), 0, "every projection starts again from position 1")
        try reopened.catchUp()
        let state = try reopened.exportState()
        XCTAssertEqual(differing(expected, state), [], "caught up again equals the rebuild, table by table")
        XCTAssertGreaterThan(state.values.map(\.count).reduce(0, +), 100)
    }

    func testRebuildReportsProgress() async throws {
        let company = try Company(self)
        try await company.seed()
        try await writeHistory(company, commands: 300, seed: 11)
        let projector = try company.projector()
        let reports = Locked<[ProjectionProgress]>([])
        try projector.rebuild(batchSize: 50) { progress in reports.withLock { $0.append(progress) } }
        let seen = reports.withLock { $0 }
        XCTAssertGreaterThan(seen.count, 2)
        XCTAssertEqual(seen.last?.done, seen.last?.total)
        XCTAssertEqual(seen.map(\.done), seen.map(\.done).sorted())
    }

    /// Every projection over `company`'s log, in a directory of its own under DIR, closed when the test ends.
    private func projector(_ company: Company, in name: String) throws -> Projector {
        let projector = try Projector(
            store: company.store, directory: company.directory + "/" + name,
            projections: Projections.all(keys: company.keys))
        addTeardownBlock { projector.close() }
        return projector
    }

    /// The tables whose entries differ between two exported states.
    private func differing(_ one: [String: [[UInt8]]], _ other: [String: [[UInt8]]]) -> [String] {
        one.keys.filter { one[$0] != other[$0] }.sorted()
    }
}
