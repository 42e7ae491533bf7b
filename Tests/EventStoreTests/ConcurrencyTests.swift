import EventStore
import XCTest

final class ConcurrencyTests: XCTestCase {
    func testManyConcurrentAppendersLeaveNoGapNoDuplicateAndReportEveryConflict() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        let tasks = 64
        let appendsPerTask = 40
        // Half the tasks share 4 hot streams with exact expected versions (conflicts are certain);
        // the others write their own streams with `.any`.
        let outcomes = await withTaskGroup(of: (successes: [AppendResult], conflicts: Int).self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var successes: [AppendResult] = []
                    var conflicts = 0
                    for i in 0..<appendsPerTask {
                        if task % 2 == 0 {
                            let stream: StreamName = "hot-\(i % 4)"
                            let known = (try? store.streamVersion(stream)) ?? 0
                            do {
                                successes.append(
                                    try await store.append(
                                        to: stream, expected: .exact(known), [event("t\(task)-\(i)")]))
                            } catch StoreError.wrongExpectedVersion(let s, let expected, let actual) {
                                XCTAssertEqual(s, stream)
                                XCTAssertEqual(expected, .exact(known))
                                XCTAssertNotEqual(actual, known)
                                conflicts += 1
                            } catch {
                                XCTFail("unexpected \(error)")
                            }
                        } else {
                            let count = i % 3 + 1
                            let events = (0..<count).map { event("t\(task)-\(i)-\($0)") }
                            successes.append(try! await store.append(to: "own-\(task)", events))
                        }
                        // What the write side relies on to see its own writes without reading LMDB.
                        if let last = successes.last?.lastPosition, store.committedHead < last {
                            XCTFail("acknowledged position \(last) is beyond the committed head \(store.committedHead)")
                        }
                    }
                    return (successes, conflicts)
                }
            }
            var all: [(successes: [AppendResult], conflicts: Int)] = []
            for await outcome in group { all.append(outcome) }
            return all
        }

        let results = outcomes.flatMap(\.successes)
        let conflicts = outcomes.map(\.conflicts).reduce(0, +)
        let written = results.reduce(0) { $0 + Int($1.firstPosition.distance(to: $1.lastPosition) + 1) }
        let log = try store.read(from: 1, limit: 100_000)

        XCTAssertEqual(log.map(\.position), Array(1...Position(written)), "positions must be gap-free from 1")
        XCTAssertEqual(
            results.count + conflicts, tasks * appendsPerTask, "every append either succeeded or reported a conflict")
        XCTAssertGreaterThan(conflicts, 0, "hot streams under contention must produce conflicts")
        XCTAssertEqual(store.commitStatistics.conflicts, UInt64(conflicts))
        var byStream: [StreamName: [StreamVersion]] = [:]
        for event in log { byStream[event.stream, default: []].append(event.version) }
        for (stream, versions) in byStream {
            XCTAssertEqual(
                versions, Array(1...StreamVersion(versions.count)), "versions of \(stream) must be 1...n in log order")
            XCTAssertEqual(try store.streamVersion(stream), StreamVersion(versions.count))
        }
        for result in results {
            let stored = try store.read(
                from: result.firstPosition, limit: Int(result.firstPosition.distance(to: result.lastPosition) + 1))
            XCTAssertEqual(stored.map(\.stream), Array(repeating: result.streams[0].stream, count: stored.count))
        }
        XCTAssertGreaterThan(store.commitStatistics.eventsPerCommit, 1, "concurrent appends must share commits")
        XCTAssertTrue(try store.verify().isValid)
    }

    func testConflictingAppendsInOneBatchAreDecidedInOrder() async throws {
        let store = try EventStore(directory: temporaryDirectory(self), options: testOptions())
        // 50 appenders race for version 1 of the same stream: exactly one may win.
        let outcomes = await withTaskGroup(of: Result<AppendResult, StoreError>.self) { group in
            for i in 0..<50 {
                group.addTask {
                    do {
                        return .success(try await store.append(to: "deal-1", expected: .noStream, [event("open-\(i)")]))
                    } catch { return .failure(error as! StoreError) }
                }
            }
            var all: [Result<AppendResult, StoreError>] = []
            for await outcome in group { all.append(outcome) }
            return all
        }
        let winners = outcomes.compactMap { try? $0.get() }
        XCTAssertEqual(winners.count, 1)
        for case .failure(let error) in outcomes {
            XCTAssertEqual(error, .wrongExpectedVersion(stream: "deal-1", expected: .noStream, actual: 1))
        }
        XCTAssertEqual(try store.streamVersion("deal-1"), 1)
        XCTAssertEqual(store.headPosition, 1)
    }
}
