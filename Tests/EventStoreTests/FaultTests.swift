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
                acknowledged.append(
                    try await store.append(
                        to: "c\(i % 5)", [ProposedEvent(type: "Big", data: payload)], requestId: "d\(i)"))
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
        let resumed = try await store.append(
            to: "c0", [ProposedEvent(type: "Big", data: payload)], requestId: "d\(acknowledged.count)")
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

    /// A meta page that cannot be written (a full copy-on-write file system, a failing disk)
    /// makes LMDB declare its environment unusable (MDB_PANIC). The appending process must come
    /// back by itself once writes work again, without a restart, and lose nothing it acknowledged.
    func testAFailedMetaPageWriteIsSurvivedWithoutARestart() throws {
        let root = (try temporaryDirectory(self, "meta") as NSString).deletingLastPathComponent
        let directory = root + "/log"
        let shim = root + "/faults.so"
        let flag = root + "/broken"
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("proof/enospc.c").path
        XCTAssertEqual(
            run("/usr/bin/cc", ["-shared", "-fPIC", "-O2", "-o", shim, source, "-ldl"]), 0, "compile \(source)")

        let child = Process()
        child.executableURL = URL(fileURLWithPath: CrashTests.childPath)
        child.arguments = [directory, "7"]
        child.environment = ProcessInfo.processInfo.environment.merging(
            ["LD_PRELOAD": shim, "CRMD_FAULT_FLAG": flag, "CRMD_FAULT_DIR": directory, "CRMD_FAULT_META": "1"]) {
                _, new in new
            }
        let pipe = Pipe()
        child.standardOutput = pipe
        let lines = Locked<[String]>([])
        let reader = Thread {
            var pending = Data()
            while true {
                let chunk = pipe.fileHandleForReading.availableData
                if chunk.isEmpty { return }
                pending.append(chunk)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
                    pending.removeSubrange(pending.startIndex...newline)
                    lines.withLock { $0.append(line) }
                }
            }
        }
        try child.run()
        reader.start()
        defer {
            if child.isRunning { kill(child.processIdentifier, SIGKILL) }
        }
        /// Waits (at most 60 s) until `condition` holds for the lines printed so far.
        func waitFor(_ what: String, _ condition: ([String]) -> Bool) {
            let deadline = ContinuousClock.now + .seconds(60)
            while ContinuousClock.now < deadline {
                if lines.withLock({ condition($0) }) { return }
                Thread.sleep(forTimeInterval: 0.01)
            }
            XCTFail("waited a minute for \(what); last lines: \(lines.withLock { $0.suffix(3) })")
        }
        func count(_ prefix: String, _ lines: [String], from: Int = 0) -> Int {
            lines[min(from, lines.count)...].filter { $0.hasPrefix(prefix) }.count
        }

        waitFor("appends before the fault") { count("ack ", $0) >= 50 }
        XCTAssertTrue(FileManager.default.createFile(atPath: flag, contents: nil))
        let brokenAt = lines.withLock { $0.count }
        waitFor("failures while meta pages cannot be written") { count("error ", $0, from: brokenAt) >= 20 }
        try FileManager.default.removeItem(atPath: flag)
        // A commit already past its check of the flag may still fail; after that, appends resume.
        Thread.sleep(forTimeInterval: 0.05)
        let repairedAt = lines.withLock { $0.count }
        waitFor("appends after the fault, in the same process") { count("ack ", $0, from: repairedAt) >= 100 }
        let afterRepair = lines.withLock { Array($0[repairedAt...]) }
        let lastError = afterRepair.lastIndex { $0.hasPrefix("error ") }
        XCTAssertLessThan(
            lastError ?? -1, 40,
            "errors went on after writes worked again: \(afterRepair.filter { $0.hasPrefix("error ") }.prefix(3))")
        XCTAssertTrue(
            lines.withLock { $0[brokenAt...].contains { $0.contains("storage error") } },
            "the failure is reported as a storage error")

        kill(child.processIdentifier, SIGKILL)
        child.waitUntilExit()
        reader.cancel()
        let store = try EventStore(directory: directory, options: testOptions())
        defer { store.close() }
        XCTAssertNil(try store.verify().problem)
        var acknowledged = 0
        for line in lines.withLock({ $0 }) where line.hasPrefix("ack ") {
            let parts = line.split(separator: " ")
            guard parts.count == 5, let first = Position(parts[2]), let last = Position(parts[3]) else { continue }
            let events = try store.read(from: first, limit: Int(first.distance(to: last)) + 1)
            XCTAssertTrue(
                events.allSatisfy { $0.requestId == String(parts[1]) },
                "acknowledged \(parts[1]) is not at \(first)...\(last)")
            acknowledged += 1
        }
        XCTAssertGreaterThanOrEqual(acknowledged, 150)
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
