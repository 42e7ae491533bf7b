import EventStore
import Foundation
import XCTest

/// Kills a real appending process with SIGKILL at random moments and checks what survived.
final class CrashTests: XCTestCase {
    /// The helper executable, built beside the test bundle.
    static var childPath: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map {
            $0.appendingPathComponent("store-crash-child").path
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    func testEveryAcknowledgedAppendSurvivesSIGKILLAndNothingHalfWrittenDoes() async throws {
        let directory = try temporaryDirectory(self)
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: CrashTests.childPath),
            "build store-crash-child first: \(CrashTests.childPath)")
        var acknowledged: [String: (first: Position, last: Position, count: Int)] = [:]
        var generator = SystemRandomNumberGenerator()
        let rounds = 12
        for round in 0..<rounds {
            let lines = try runChildAndKill(
                directory: directory, seed: UInt64(round) * 1000,
                after: .milliseconds(Int.random(in: 40...400, using: &generator)))
            for line in lines where line.hasPrefix("ack ") {
                let parts = line.split(separator: " ")
                guard parts.count == 5 else { continue }  // the kill may cut the last line short
                acknowledged[String(parts[1])] = (Position(parts[2])!, Position(parts[3])!, Int(parts[4])!)
            }
            XCTAssertFalse(
                lines.contains { $0.hasPrefix("error") },
                "round \(round): \(lines.filter { $0.hasPrefix("error") }.prefix(3))")

            let store = try EventStore(directory: directory, options: testOptions())
            defer { store.close() }
            let report = try store.verify()
            XCTAssertNil(report.problem, "round \(round)")
            // Every acknowledged append is there, at the positions it was told.
            for (requestId, ack) in acknowledged {
                let events = try store.read(from: ack.first, limit: ack.count)
                XCTAssertEqual(events.count, ack.count, requestId)
                XCTAssertTrue(events.allSatisfy { $0.requestId == requestId }, requestId)
                XCTAssertEqual(events.last?.position, ack.last)
            }
            // Nothing half-written: every request in the log has all of its events.
            var parts: [String: (seen: Int, of: Int)] = [:]
            try store.scan { event in
                let fields = event.text.split(separator: " ")
                let fraction = fields[1].split(separator: "/")
                parts[String(fields[0]), default: (0, Int(fraction[1])!)].seen += 1
                return true
            }
            for (requestId, part) in parts { XCTAssertEqual(part.seen, part.of, "request \(requestId) is incomplete") }
            // A client retrying acknowledged requests after the restart gets their first results back.
            for (requestId, ack) in acknowledged.prefix(20) {
                let first = try XCTUnwrap(store.event(at: ack.first))
                let retry = try await store.append(to: first.stream, [event("retry")], requestId: requestId)
                XCTAssertTrue(retry.duplicate, requestId)
                XCTAssertEqual(retry.firstPosition, ack.first, requestId)
            }
        }
        XCTAssertGreaterThan(acknowledged.count, rounds, "the children must have acknowledged appends")
    }

    private func runChildAndKill(directory: String, seed: UInt64, after delay: Duration) throws -> [String] {
        // Wait for the child's first line, so that the kill lands while it appends.
        var child = try Child([directory, String(seed)], ready: "\n")
        Thread.sleep(forTimeInterval: Double(delay.components.attoseconds) / 1e18 + Double(delay.components.seconds))
        let lines = child.kill()
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal)
        return lines
    }
}
