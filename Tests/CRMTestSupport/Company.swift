import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections
import XCTest

/// A real company for a test: a log and a key store in a temporary directory, and the command
/// service on top. Every event it wrote is dumped for the schema check of `make test`.
public final class Company: @unchecked Sendable {
    // @unchecked: tests use one Company from one test method at a time.
    public let directory: String
    public let store: EventStore
    public let keys: KeyStore
    public let service: CommandService
    private var openedProjector: Projector?
    private var closed = false

    public init(_ test: XCTestCase, clock: (@Sendable () -> Timestamp)? = nil) throws {
        directory = NSTemporaryDirectory() + "crmd-company-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var options = StoreOptions()
        options.initialMapSize = 4 << 20
        if let clock { options.clock = clock }
        store = try EventStore(directory: directory + "/log", options: options)
        keys = try KeyStore(directory: directory + "/keys")
        service = CommandService(store: store, keys: keys, clock: clock ?? { .now() })
        let directory = directory
        test.addTeardownBlock { [self] in
            self.dumpEvents(name: test.name)
            self.close()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Closes everything; a closed company's events are not dumped for the schema check.
    public func close() {
        guard !closed else { return }
        closed = true
        openedProjector?.close()
        store.close()
        keys.close()
    }

    /// The company's projector over every projection, in DIR/projections (opened once).
    public func projector() throws -> Projector {
        if let openedProjector { return openedProjector }
        let projector = try Projector(
            store: store, directory: directory + "/projections", projections: Projections.all(keys: keys))
        openedProjector = projector
        return projector
    }

    /// Sends `op` with `args` (JSON text) and returns the result, failing the test on refusal.
    @discardableResult
    public func send(
        _ op: String, _ args: String, as principal: String = "admin", requestId: String? = nil,
        expectedVersion: StreamVersion? = nil, file: StaticString = #filePath, line: UInt = #line
    ) async throws -> CommandResult {
        do {
            return try await service.execute(
                op, try JSON.parse(args),
                context: CommandContext(
                    actor: Actor(principal: principal, uid: 1000), requestId: requestId,
                    expectedVersion: expectedVersion))
        } catch let error as WireError {
            XCTFail("\(op) refused: \(error)", file: file, line: line)
            throw error
        }
    }

    /// Sends `op` expecting a refusal, and returns it.
    public func refusal(
        _ op: String, _ args: String, as principal: String = "admin", requestId: String? = nil,
        expectedVersion: StreamVersion? = nil, file: StaticString = #filePath, line: UInt = #line
    ) async -> WireError? {
        do {
            let result = try await service.execute(
                op, try JSON.parse(args),
                context: CommandContext(
                    actor: Actor(principal: principal), requestId: requestId, expectedVersion: expectedVersion))
            XCTFail("\(op) was accepted: \(result)", file: file, line: line)
            return nil
        } catch let error as WireError {
            return error
        } catch {
            XCTFail("\(op) failed with \(error)", file: file, line: line)
            return nil
        }
    }

    /// Asserts that `op` is refused by business rule `rule`.
    public func assertRule(
        _ rule: String, _ op: String, _ args: String, as principal: String = "admin",
        file: StaticString = #filePath, line: UInt = #line
    ) async {
        guard let error = await refusal(op, args, as: principal, file: file, line: line) else { return }
        XCTAssertEqual(error.code, .ruleViolation, "\(error)", file: file, line: line)
        XCTAssertEqual(error.rule, rule, "\(error)", file: file, line: line)
    }

    /// Every event of `stream`, decoded.
    public func events(_ stream: StreamName) throws -> [CRMEvent] {
        try store.readStream(stream).map { try EventCatalogue.decode($0) }
    }

    /// The whole log.
    public func log() throws -> [RecordedEvent] { try store.read(from: 1, limit: .max) }

    /// The data key of a customer, as the key store holds it.
    public func key(_ customerId: String) throws -> DataKey? {
        try keys.key(for: "customer-\(customerId)").map { DataKey(owner: "customer-\(customerId)", bytes: $0) }
    }

    /// A staffed company: a branch, a manager and two agents, and two products priced in rials.
    public func seed() async throws {
        try await send(
            "branch.open", #"{"branchId": "tehran", "name": "شعبه تهران", "region": "تهران", "kind": "branch"}"#)
        try await send(
            "agent.hire", #"{"agentId": "maryam", "name": "مریم رضایی", "role": "agent", "branchId": "tehran"}"#)
        try await send("agent.hire", #"{"agentId": "ali", "name": "علی محمدی", "role": "agent"}"#)
        try await send("agent.hire", #"{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}"#)
        try await send(
            "product.define",
            #"{"productId": "printer", "name": "چاپگر لیزری", "unitPrice": {"amount": 250000000, "currency": "IRR"}}"#)
        try await send(
            "product.define",
            #"{"productId": "toner", "name": "کارتریج", "unitPrice": {"amount": 12000000, "currency": "IRR"}, "unit": "piece"}"#
        )
    }

    /// Registers a Persian-named person served by `agent`.
    @discardableResult
    public func register(
        _ id: String, agent: String = "maryam", name: String = "رضا\u{200C}زاده"
    ) async throws -> CommandResult {
        try await send(
            "customer.register",
            """
            {"customerId": "\(id)", "kind": "person", "name": "\(name)", "phones": ["+98 912 345 6789"],
             "emails": ["reza@example.ir"], "address": "تهران، خیابان ولیعصر", "birthday": "1990-03-21",
             "source": {"channel": "instagram", "campaign": "نوروز ۱۴۰۵", "referrer": "خانم احمدی"},
             "agentId": "\(agent)", "branchId": "tehran", "tags": ["VIP", "عمده"]}
            """)
    }

    /// Writes every event of the log as envelope JSON lines for `tools/validate_schemas.py`.
    private func dumpEvents(name: String) {
        guard let target = ProcessInfo.processInfo.environment["CRMD_EVENT_DUMP"], !closed,
            let events = try? log(), !events.isEmpty
        else { return }
        try? FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
        let safe = name.filter { $0.isLetter || $0.isNumber }
        let text = events.map(Envelope.line).joined(separator: "\n") + "\n"
        FileManager.default.createFile(
            atPath: "\(target)/\(safe)-\(UUID().uuidString.prefix(8)).jsonl", contents: Data(text.utf8))
    }
}

/// A clock a test moves by hand, for the store's recordedAt.
public final class TestClock: Sendable {
    private let now: Locked<Int64>
    /// Starts at `start` (RFC 3339).
    public init(_ start: String) { now = Locked(Timestamp(rfc3339: start)!.microsecondsSince1970) }
    /// Moves to `time` (RFC 3339).
    public func set(_ time: String) { now.withLock { $0 = Timestamp(rfc3339: time)!.microsecondsSince1970 } }
    /// Moves on by `seconds`.
    public func advance(_ seconds: Int64) { now.withLock { $0 += seconds * 1_000_000 } }
    /// The clock as the store takes it.
    public var read: @Sendable () -> Timestamp { { Timestamp(microsecondsSince1970: self.now.withLock { $0 }) } }
}

/// The seeded generator of the tests (SplitMix64, shared with the demo company).
public typealias SeededGenerator = SplitMix
