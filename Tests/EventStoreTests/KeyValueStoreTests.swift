import EventStore
import Foundation
import KeyValue
import XCTest

/// Bulk loads of `KeyValueStore`: commits without fsync, one sync at the end, and a store that
/// starts empty when a load was cut off.
final class KeyValueStoreTests: XCTestCase {
    private func rows(_ state: KeyValueStore) throws -> [String: [UInt8]] {
        try state.read { txn in
            var rows: [String: [UInt8]] = [:]
            try txn.scan("rows", prefix: []) { key, value in
                rows[String(decoding: key, as: UTF8.self)] = value
                return true
            }
            return rows
        }
    }

    func testABulkLoadKeepsEveryCommitAndLeavesNoMarker() throws {
        let directory = try temporaryDirectory(self, "state")
        let state = try KeyValueStore(directory: directory, tables: ["rows"])
        let returned = try state.bulkLoad {
            for batch in 0..<10 {
                try state.write { txn in
                    for row in 0..<100 {
                        try txn.put("rows", Array("r\(batch)-\(row)".utf8), Array("مقدار \(row)".utf8))
                    }
                }
            }
            // Readers see the load's commits as they are made.
            return try rows(state).count
        }
        XCTAssertEqual(returned, 1000)
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: directory + "/bulk-load-in-progress"),
            "the marker goes once the load is synced")
        state.close()

        let reopened = try KeyValueStore(directory: directory, tables: ["rows"])
        defer { reopened.close() }
        XCTAssertFalse(reopened.discardedInterruptedBulkLoad)
        let stored = try rows(reopened)
        XCTAssertEqual(stored.count, 1000)
        XCTAssertEqual(stored["r9-99"], Array("مقدار 99".utf8))
    }

    func testABulkLoadThatThrowsKeepsWhatItCommitted() throws {
        struct Stop: Error {}
        let directory = try temporaryDirectory(self, "state")
        let state = try KeyValueStore(directory: directory, tables: ["rows"])
        XCTAssertThrowsError(
            try state.bulkLoad {
                try state.write { try $0.put("rows", Array("kept".utf8), [1]) }
                throw Stop()
            }
        ) { XCTAssertTrue($0 is Stop, "the body's own error comes out, not a storage one: \($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/bulk-load-in-progress"))
        state.close()
        let reopened = try KeyValueStore(directory: directory, tables: ["rows"])
        defer { reopened.close() }
        XCTAssertFalse(reopened.discardedInterruptedBulkLoad)
        XCTAssertEqual(try rows(reopened)["kept"], [1])
    }

    func testABulkLoadCutOffByAKillLeavesAStoreThatStartsEmpty() throws {
        XCTAssertTrue(
            FileManager.default.isExecutableFile(atPath: CrashTests.childPath), "build store-crash-child first")
        let directory = try temporaryDirectory(self, "state")
        var child = try Child(["bulk-load", directory], ready: "loading")
        XCTAssertTrue(
            String(decoding: child.printed, as: UTF8.self).contains("loading"), "the child began its bulk load")
        // While the child loads, the marker is there but locked: another writer leaves it alone.
        let meanwhile = try KeyValueStore(directory: directory, tables: ["rows"])
        XCTAssertFalse(meanwhile.discardedInterruptedBulkLoad, "a load still running is not cut off")
        XCTAssertEqual(try rows(meanwhile)["before"], Array("synced".utf8))
        meanwhile.close()
        Thread.sleep(forTimeInterval: 0.05)
        _ = child.kill()
        XCTAssertEqual(child.process.terminationReason, .uncaughtSignal)
        XCTAssertTrue(
            FileManager.default.fileExists(atPath: directory + "/bulk-load-in-progress"), "the kill left the marker")

        // A reader leaves the store alone; the next writer drops it, row synced before the load and all.
        let reader = try KeyValueStore(directory: directory, tables: ["rows"], readOnly: true)
        XCTAssertFalse(reader.discardedInterruptedBulkLoad)
        XCTAssertGreaterThan(try rows(reader).count, 100, "the reader saw the load's commits")
        reader.close()
        let writer = try KeyValueStore(directory: directory, tables: ["rows"])
        XCTAssertTrue(writer.discardedInterruptedBulkLoad)
        XCTAssertEqual(try rows(writer), [:])
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/bulk-load-in-progress"))
        try writer.write { try $0.put("rows", Array("after".utf8), [2]) }
        writer.close()
        let again = try KeyValueStore(directory: directory, tables: ["rows"])
        defer { again.close() }
        XCTAssertFalse(again.discardedInterruptedBulkLoad, "dropped once, not at every open")
        XCTAssertEqual(try rows(again), ["after": [2]])
    }
}
