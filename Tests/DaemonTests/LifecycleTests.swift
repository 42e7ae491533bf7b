import CRMEvents
import EventStore
import Foundation
import JSONKit
import XCTest

final class LifecycleTests: XCTestCase {
    func testSIGTERMDuringLoadLosesNothingThatWasAcknowledged() throws {
        let daemon = try DaemonProcess(self)
        let admin = try daemon.connect()
        XCTAssertEqual(admin.call("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)["ok"], true)
        XCTAssertEqual(
            admin.call("customer.register", #"{"customerId": "c1", "name": "مشتری", "agentId": "ali"}"#)["ok"], true)
        let connections = try (0..<8).map { _ in try daemon.connect() }
        for (n, connection) in connections.enumerated() {
            var lines = ""
            for i in 0..<400 {
                lines +=
                    #"{"id": \#(i), "op": "note.add", "requestId": "c\#(n)-\#(i)", "args": {"customerId": "c1", "text": "بار \#(i)", "agentId": "ali"}}"#
                    + "\n"
            }
            connection.write(Array(lines.utf8))
        }
        // Let some of the load through, then ask the daemon to stop in the middle of it.
        var acknowledged: [String: Int64] = [:]
        for (n, connection) in connections.enumerated() {
            for _ in 0..<20 {
                guard let response = connection.receive(), response["ok"] == true, let id = response["id"]?.intValue
                else { continue }
                acknowledged["c\(n)-\(id)"] = response["result"]?["position"]?.intValue
            }
        }
        kill(daemon.process.processIdentifier, SIGTERM)
        for (n, connection) in connections.enumerated() {
            while let response = connection.receive() {
                if response["ok"] == true, let id = response["id"]?.intValue {
                    acknowledged["c\(n)-\(id)"] = response["result"]?["position"]?.intValue
                } else {
                    XCTAssertEqual(
                        response["error"]?["code"], "unavailable",
                        "refused while draining, never half-done: \(response.serialized())")
                }
            }
        }
        daemon.process.waitUntilExit()
        XCTAssertEqual(daemon.process.terminationStatus, 0, "a drained stop exits 0")
        XCTAssertGreaterThan(acknowledged.count, 160)

        var options = StoreOptions()
        options.readOnly = true
        let store = try EventStore(directory: daemon.directory + "/log", options: options)
        defer { store.close() }
        var logged: [String: Position] = [:]
        try store.scan { event in
            if let id = event.requestId { logged[id] = event.position }
            return true
        }
        for (requestId, position) in acknowledged {
            XCTAssertEqual(
                logged[requestId].map { Int64($0) }, position,
                "acknowledged \(requestId) is in the log where it was told")
        }
        XCTAssertNil(try store.verify().problem)
    }

    func testSubscribersSeeHistoryThenLiveAndOneThatStopsReadingIsCutOffWithoutSlowingWriters() throws {
        let daemon = try DaemonProcess(self, arguments: ["--subscriber-timeout", "1"])
        let admin = try daemon.connect()
        XCTAssertEqual(admin.call("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)["ok"], true)
        XCTAssertEqual(
            admin.call("customer.register", #"{"customerId": "c1", "name": "مشتری", "agentId": "ali"}"#)["ok"], true)

        let reader = try daemon.connect()
        reader.send(#"{"id": "sub", "op": "log.subscribe", "args": {"from": 1}}"#)
        XCTAssertEqual(reader.receive()?["result"]?["event"]?["type"], "AgentHired", "history first")
        XCTAssertEqual(reader.receive()?["result"]?["event"]?["type"], "CustomerRegistered")
        XCTAssertEqual(admin.call("note.add", #"{"customerId": "c1", "text": "زنده", "agentId": "ali"}"#)["ok"], true)
        XCTAssertEqual(reader.receive()?["result"]?["event"]?["type"], "NoteAdded", "then live")

        // A subscriber that never reads while the log grows by megabytes.
        let stuck = try daemon.connect()
        stuck.send(#"{"id": "stuck", "op": "log.subscribe", "args": {"from": 1}}"#)
        let started = Date()
        let text = String(repeating: "متن بلند ", count: 400)
        var lines = ""
        for i in 0..<2000 {
            lines +=
                #"{"id": \#(i), "op": "note.add", "args": {"customerId": "c1", "text": "\#(text)", "agentId": "ali"}}"#
                + "\n"
        }
        admin.write(Array(lines.utf8))
        for _ in 0..<2000 { XCTAssertEqual(admin.receive()?["ok"], true) }
        let seconds = Date().timeIntervalSince(started)
        XCTAssertLessThan(seconds, 60, "writers went on while a subscriber did not read")
        // Give the subscription time to fill the socket and wait on it longer than its patience;
        // then its stream ends after what the kernel had buffered.
        Thread.sleep(forTimeInterval: 3)
        stuck.timeout(5)
        var received = 0
        while stuck.receive() != nil { received += 1 }
        XCTAssertLessThan(received, 2003, "it did not get everything: it was cut off")
        XCTAssertEqual(admin.call("system.status")["ok"], true, "the daemon is fine")
    }

    func testRolesFromAccessJSONForOtherLocalUsers() throws {
        guard getuid() == 0 else { throw XCTSkip("needs root to run clients under other uids with setpriv") }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else {
            throw XCTSkip("setpriv is not installed")
        }
        let daemon = try DaemonProcess(self)
        try Data(
            #"""
            {"users": [{"uid": 4242, "principal": "maryam", "role": "agent"},
                       {"uid": 4243, "principal": "audit", "role": "auditor"},
                       {"uid": 4244, "principal": "front", "role": "gateway"},
                       {"uid": 4245, "principal": "sara", "role": "manager"}]}
            """#.utf8
        ).write(to: URL(fileURLWithPath: daemon.directory + "/access.json"))
        let admin = try daemon.connect()
        XCTAssertEqual(admin.call("agent.hire", #"{"agentId": "maryam", "name": "مریم"}"#)["ok"], true)
        XCTAssertEqual(admin.call("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)["ok"], true)
        XCTAssertEqual(
            admin.call("customer.register", #"{"customerId": "mine", "name": "الف", "agentId": "maryam"}"#)["ok"], true)
        XCTAssertEqual(
            admin.call("customer.register", #"{"customerId": "theirs", "name": "ب", "agentId": "ali"}"#)["ok"], true)

        /// Runs `crmd send` as `uid` (group root, so the 0660 socket admits it); returns exit status and output.
        func send(as uid: Int, _ arguments: [String]) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            process.arguments =
                ["--reuid", "\(uid)", "--regid", "0", "--clear-groups", DaemonProcess.binary, "send"] + arguments
                + ["--socket", daemon.socketPath]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            process.waitUntilExit()
            return (
                process.terminationStatus,
                String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            )
        }
        XCTAssertEqual(
            try send(as: 4242, ["note.add", #"{"customerId": "mine", "text": "سلام"}"#]).0, 0,
            "an agent writes about their own customer")
        XCTAssertTrue(
            try send(as: 4242, ["note.add", #"{"customerId": "theirs", "text": "سلام"}"#]).1.contains("forbidden"))
        XCTAssertTrue(try send(as: 4242, ["report.dormant", #"{"days": 1}"#]).1.contains("forbidden"))
        XCTAssertEqual(
            try send(as: 4243, ["customer.get", #"{"customerId": "theirs"}"#]).0, 0, "an auditor reads everything")
        XCTAssertTrue(
            try send(as: 4243, ["note.add", #"{"customerId": "mine", "text": "x", "agentId": "maryam"}"#]).1.contains(
                "forbidden"))
        XCTAssertTrue(try send(as: 4244, ["system.status"]).1.contains("forbidden"), "a gateway acts only as someone")
        XCTAssertEqual(
            try send(as: 4244, ["note.add", #"{"customerId": "mine", "text": "از درگاه"}"#, "--as", "maryam"]).0, 0)
        XCTAssertTrue(
            try send(as: 4244, ["note.add", #"{"customerId": "theirs", "text": "x"}"#, "--as", "maryam"]).1.contains(
                "forbidden"),
            "with that agent's rights only")
        XCTAssertEqual(
            try send(as: 4245, ["customer.assign", #"{"customerId": "theirs", "agentId": "maryam"}"#]).0, 0,
            "a manager moves customers")
        XCTAssertTrue(try send(as: 4999, ["system.status"]).1.contains("forbidden"), "unknown uids are refused")
        let notes =
            try daemon.connect().call("log.read", #"{"from": 1, "limit": 100}"#)["result"]?["events"]?.arrayValue ?? []
        let gatewayNote = notes.first { $0["type"] == "NoteAdded" && $0["actor"]?["uid"] == 4244 }
        XCTAssertEqual(
            gatewayNote?["actor"]?["principal"], "maryam",
            "the event records the acting principal and the uid that sent it")
    }
}
