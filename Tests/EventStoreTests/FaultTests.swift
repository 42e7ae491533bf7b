import EventStore
import Foundation
import XCTest

/// Faults from outside the process: a full disk, readers that died holding a slot.
final class FaultTests: XCTestCase {
    func testAFullDiskIsATypedErrorReadsKeepWorkingAndWritesResumeWithSpace() async throws {
        let mountPoint = try temporaryDirectory(self, "small-disk")
        // A 2 MiB file system of our own; needs root (mount), which this project's machines and CI have.
        guard run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]) == 0 else {
            throw XCTSkip("cannot mount a small tmpfs here (not root?)")
        }
        defer { _ = run("/bin/umount", ["-l", mountPoint]) }
        var options = testOptions(mapSize: 64 << 20)
        options.indexMergeThreshold = 50
        let store = try EventStore(directory: mountPoint + "/log", options: options)
        let payload = [UInt8](repeating: 0x63, count: 3000)
        var acknowledged: [AppendResult] = []
        var failure: StoreError?
        for i in 0..<2000 {
            do {
                acknowledged.append(try await store.append(to: "c\(i % 5)", [ProposedEvent(type: "Big", data: payload)], requestId: "d\(i)"))
            } catch let error as StoreError {
                failure = error
                break
            }
        }
        XCTAssertEqual(failure, .diskFull, "a full disk must surface as diskFull")
        XCTAssertGreaterThan(acknowledged.count, 100)
        // Reads keep working and every acknowledged append is there.
        for result in acknowledged {
            XCTAssertEqual(try store.event(at: result.firstPosition)?.requestId.map { $0.hasPrefix("d") }, true)
        }
        XCTAssertTrue(try store.verify().isValid)
        // Space comes back: writes resume, and the refused request can be retried.
        XCTAssertEqual(run("/bin/mount", ["-o", "remount,size=16m", mountPoint]), 0)
        let resumed = try await store.append(to: "c0", [ProposedEvent(type: "Big", data: payload)], requestId: "d\(acknowledged.count)")
        XCTAssertFalse(resumed.duplicate)
        XCTAssertEqual(resumed.firstPosition, Position(acknowledged.count + 1))
        store.close()
        let reopened = try EventStore(directory: mountPoint + "/log", options: options)
        XCTAssertTrue(try reopened.verify().isValid)
        XCTAssertEqual(reopened.headPosition, Position(acknowledged.count + 1))
        reopened.close()
    }

    func testReaderSlotsOfADeadProcessAreClearedOnOpen() async throws {
        let directory = try temporaryDirectory(self)
        let writer = try EventStore(directory: directory, options: testOptions())
        try await writer.append(to: "s", [event("1")])
        writer.close()
        // Two readers hold slots; one dies. The survivor keeps the environment open, so LMDB does
        // not reset its reader table on our open and only mdb_reader_check can reclaim the slot.
        let dying = try startReader(directory)
        let surviving = try startReader(directory)
        defer {
            kill(surviving.processIdentifier, SIGKILL)
            surviving.waitUntilExit()
        }
        kill(dying.processIdentifier, SIGKILL)
        dying.waitUntilExit()

        let store = try EventStore(directory: directory, options: testOptions())
        XCTAssertEqual(store.staleReadersCleared, 1)
        XCTAssertEqual(try store.readStream("s").map(\.text), ["1"])
    }

    private func startReader(_ directory: String) throws -> Process {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: CrashTests.childPath)
        child.arguments = ["hold-reader", directory]
        let pipe = Pipe()
        child.standardOutput = pipe
        try child.run()
        let line = String(decoding: pipe.fileHandleForReading.availableData, as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("reading"), line)
        return child
    }

    private func run(_ tool: String, _ arguments: [String]) -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return -1 }
        process.waitUntilExit()
        return process.terminationStatus
    }
}
