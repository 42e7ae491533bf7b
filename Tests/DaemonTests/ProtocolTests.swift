import CRMEvents
import EventStore
import Foundation
import JSONKit
import XCTest

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

final class ProtocolTests: XCTestCase {
    func testEveryDocumentedCommandRunsThroughTheSocket() throws {
        let daemon = try DaemonProcess(self)
        let connection = try daemon.connect()
        let text = try String(contentsOfFile: repositoryRoot + "/docs/commands.md", encoding: .utf8)
        let requests = text.components(separatedBy: "\n").filter { $0.hasPrefix("{\"id\":") }
        XCTAssertGreaterThan(requests.count, 35)
        for request in requests {
            connection.send(request)
            let response = try XCTUnwrap(connection.receive(), request)
            XCTAssertEqual(response["ok"], true, "\(request) -> \(response.serialized())")
            XCTAssertEqual(response["id"], try JSON.parse(request)["id"])
        }
        let file = connection.call("customer.get", #"{"customerId": "c42"}"#)
        XCTAssertEqual(file["result"]?["name"], "رضا رضازاده")
        XCTAssertEqual(connection.call("customer.get", #"{"customerId": "pars"}"#)["result"]?["erased"], true)
        XCTAssertEqual(daemon.stop(), 0, "SIGTERM exits 0")
    }

    func testARefusalOfTheArgumentsInsideAReadStaysInvalidArgs() throws {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        let empty = c.call("customer.find", "{}")
        XCTAssertEqual(empty["error"]?["code"], "invalid_args", "\(empty.serialized())")
        XCTAssertEqual(empty["error"]?["message"], "give at least one of phone, email, text, agentId, tag or stage")
        let late = c.call("agent.agenda", #"{"agentId": "maryam", "from": "2026-02-30T00:00:00Z"}"#)
        XCTAssertEqual(late["error"]?["code"], "invalid_args", "\(late.serialized())")
        XCTAssertEqual(late["error"]?["path"], "/from")
        XCTAssertEqual(daemon.stop(), 0)
    }

    func testEveryErrorCodeSaysWhatAndWhere() throws {
        let daemon = try DaemonProcess(self, arguments: ["--max-connections", "3"])
        let c = try daemon.connect()
        c.send("not json")
        XCTAssertEqual(c.receive()?["error"]?["code"], "bad_request")
        c.send("[1, 2]")
        XCTAssertEqual(c.receive()?["error"]?["code"], "bad_request")
        c.write(Array(repeating: UInt8(ascii: "x"), count: (1 << 20) + 10) + [UInt8(ascii: "\n")])
        XCTAssertEqual(c.receive()?["error"]?["message"], "a request line is at most 1 MiB")
        XCTAssertEqual(c.call("system.status")["ok"], true, "the connection carries on after a bad line")
        XCTAssertEqual(c.call("customer.explode")["error"]?["code"], "unknown_op")
        let invalid = c.call("customer.register", #"{"name": "x", "phones": ["call me"]}"#)
        XCTAssertEqual(invalid["error"]?["code"], "invalid_args")
        XCTAssertEqual(invalid["error"]?["path"], "/phones/0")
        XCTAssertEqual(c.call("customer.get", #"{"customerId": "nobody"}"#)["error"]?["code"], "not_found")
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "maryam", "name": "مریم"}"#)["ok"], true)
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "maryam", "name": "مریم"}"#)["error"]?["code"], "conflict")
        XCTAssertEqual(c.call("agent.leave", #"{"agentId": "maryam"}"#)["error"]?["rule"], "successor_required")
        XCTAssertEqual(
            c.call("system.status", "{}", extra: #", "as": "nobody""#)["error"]?["code"], "forbidden",
            "acting as someone who does not exist")
        XCTAssertEqual(
            c.call("system.status", "{}", extra: #", "as": "maryam""#)["error"]?["code"], "forbidden",
            "acting as an agent, status is for managers")
        let stale = c.call(
            "customer.register", #"{"customerId": "c1", "name": "x", "agentId": "maryam"}"#,
            extra: #", "expectedVersion": 3"#)
        XCTAssertEqual(stale["error"]?["code"], "conflict")
        // Connections beyond the limit (3) are told so and closed; the others carry on. Which of
        // the three new ones is the extra depends on which event loop accepted it first.
        let others = try (0..<3).map { _ in try daemon.connect() }
        var refused = 0
        for connection in others {
            connection.timeout(2)
            if let response = connection.receive() {
                XCTAssertEqual(response["error"]?["code"], "unavailable")
                XCTAssertNil(connection.receive(), "and closed")
                refused += 1
            } else {
                XCTAssertEqual(connection.call("system.status")["ok"], true)
            }
        }
        XCTAssertEqual(refused, 1)
    }

    func testTheLogReadsFilteredByStreamActorTypeAndTimePageAfterPageWithoutGapsAndVerifyIsRecorded() throws {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        for agent in ["maryam", "ali"] {
            XCTAssertEqual(c.call("agent.hire", #"{"agentId": "\#(agent)", "name": "\#(agent)"}"#)["ok"], true)
        }
        for index in 0..<12 {
            let agent = index % 3 == 0 ? "ali" : "maryam"
            XCTAssertEqual(
                c.call(
                    "customer.register", #"{"customerId": "c\#(index)", "name": "مشتری \#(index)", "agentId": "\#(agent)"}"#,
                    extra: #", "as": "\#(agent)""#)["ok"], true)
        }
        func read(_ args: String) -> (positions: [Int64], next: Int64) {
            let result = c.call("log.read", args)["result"]
            return (
                (result?["events"]?.arrayValue ?? []).compactMap { $0["position"]?.intValue }, result?["next"]?.intValue ?? -1
            )
        }
        // Four pages of ali's registrations, three at a time: every one once, in order, then an empty page.
        var seen: [Int64] = []
        var from: Int64 = 1
        for _ in 0..<3 {
            let page = read(#"{"actor": "ali", "type": "CustomerRegistered", "limit": 3, "from": \#(from)}"#)
            seen += page.positions
            XCTAssertGreaterThan(page.next, from)
            from = page.next
            if page.positions.count < 3 { break }
        }
        XCTAssertEqual(seen, [3, 6, 9, 12], "c0, c3, c6, c9 were ali's, after the two hires")
        let last = read(#"{"actor": "ali", "limit": 3, "from": \#(from)}"#)
        XCTAssertEqual(last.positions, [])
        XCTAssertEqual(last.next, 15, "past the head: where new events will be")
        XCTAssertEqual(read(#"{"stream": "customer-c4", "limit": 10}"#).positions, [7])
        XCTAssertEqual(read(#"{"stream": "customer-c4", "actor": "ali", "limit": 10}"#).positions, [], "maryam's")
        XCTAssertEqual(read(#"{"since": "2999-01-01", "limit": 10}"#).positions, [])
        XCTAssertEqual(read(#"{"until": "2000-01-01", "limit": 10}"#).positions, [])
        XCTAssertEqual(read(#"{"since": "2000-01-01", "until": "2999-01-01", "limit": 100}"#).positions.count, 14)
        XCTAssertEqual(c.call("log.read", #"{"since": "yesterday"}"#)["error"]?["code"], "invalid_args")

        XCTAssertEqual(c.call("system.status")["result"]?["lastVerify"], .null, "never verified")
        let verified = c.call("log.verify")["result"]
        XCTAssertEqual(verified?["ok"], true)
        XCTAssertEqual(verified?["headPosition"], 14)
        let status = c.call("system.status")["result"]
        XCTAssertEqual(status?["lastVerify"]?["headHash"], status?["headHash"])
        XCTAssertEqual(status?["lastVerify"]?["by"], "admin")
        XCTAssertEqual(
            c.call("log.verify", extra: #", "as": "maryam""#)["error"]?["code"], "forbidden", "the raw log is not an agent's")
    }

    func testPipelinedRequestsAreAllAnsweredWithTheirIDs() throws {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)["ok"], true)
        var batch = ""
        for i in 0..<300 {
            batch +=
                #"{"id": "r\#(i)", "op": "customer.register", "args": {"customerId": "c\#(i)", "name": "مشتری \#(i)", "agentId": "ali"}}"#
                + "\n"
        }
        c.write(Array(batch.utf8))
        var ids = Set<String>()
        for _ in 0..<300 {
            let response = try XCTUnwrap(c.receive())
            XCTAssertEqual(response["ok"], true, response.serialized())
            ids.insert(response["id"]?.stringValue ?? "")
        }
        XCTAssertEqual(ids, Set((0..<300).map { "r\($0)" }))
    }

    func testTwoHundredConnectionsOfAHundredCommandsLandExactlyOnce() throws {
        let daemon = try DaemonProcess(self)
        let admin = try daemon.connect()
        XCTAssertEqual(admin.call("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)["ok"], true)
        XCTAssertEqual(
            admin.call("customer.register", #"{"customerId": "c1", "name": "مشتری", "agentId": "ali"}"#)["ok"], true)
        let connections = try (0..<200).map { _ in try daemon.connect() }
        func sendAll(retry: Bool) {
            for (n, connection) in connections.enumerated() {
                var lines = ""
                for i in 0..<100 {
                    lines +=
                        #"{"id": \#(i), "op": "note.add", "requestId": "conn\#(n)-req\#(i)", "args": {"customerId": "c1", "text": "یادداشت \#(n)/\#(i)", "agentId": "ali"}}"#
                        + "\n"
                }
                connection.write(Array(lines.utf8))
            }
            for connection in connections {
                for _ in 0..<100 {
                    let response = connection.receive()
                    XCTAssertEqual(response?["ok"], true, response?.serialized() ?? "closed")
                    XCTAssertEqual(response?["result"]?["duplicate"], retry ? true : nil)
                }
            }
        }
        sendAll(retry: false)
        sendAll(retry: true)
        XCTAssertEqual(daemon.stop(), 0)
        var options = StoreOptions()
        options.readOnly = true
        let store = try EventStore(directory: daemon.directory + "/log", options: options)
        defer { store.close() }
        var seen: [String: Int] = [:]
        try store.scan { event in
            if let id = event.requestId { seen[id, default: 0] += 1 }
            return true
        }
        XCTAssertEqual(seen.count, 20_000)
        XCTAssertTrue(seen.values.allSatisfy { $0 == 1 }, "every request id is in the log exactly once")
        XCTAssertNil(try store.verify().problem)
    }

    func testASecondDaemonOnTheSameDirectoryRefusesToStart() throws {
        let first = try DaemonProcess(self)
        XCTAssertThrowsError(try DaemonProcess(self, directory: first.directory)) { error in
            XCTAssertTrue("\(error)".contains("another crmd"), "\(error)")
        }
        XCTAssertEqual(try first.connect().call("system.status")["ok"], true, "the first one is unharmed")
    }
}
