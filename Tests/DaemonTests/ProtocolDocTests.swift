import CRMEvents
import Commands
import Foundation
import JSONKit
import Projections
import XCTest

/// docs/protocol.md's examples: every op with a request and the response the daemon gave.
/// `make docs` writes them from a real daemon; this test replays them against a fresh one.
final class ProtocolDocTests: XCTestCase {
    static let path = repositoryRoot + "/docs/protocol.md"

    /// The story of docs/commands.md, then every query and every error code.
    static func requests() throws -> [String] {
        let commands = try String(contentsOfFile: repositoryRoot + "/docs/commands.md", encoding: .utf8)
            .components(separatedBy: "\n").filter { $0.hasPrefix("{\"id\":") }
        return commands + [
            #"{"id": 100, "op": "customer.get", "args": {"customerId": "c42"}}"#,
            #"{"id": 101, "op": "customer.get", "args": {"customerId": "c42", "asOf": "2026-01-01T00:00:00Z"}}"#,
            #"{"id": 102, "op": "customer.find", "args": {"phone": "۰۹۱۲ ۳۴۵ ۶۷۸۹"}}"#,
            #"{"id": 121, "op": "customer.lookup", "args": {"phones": ["09123456789", "0935 000 0000"], "emails": ["REZA@example.ir"]}}"#,
            #"{"id": 122, "op": "customer.get", "args": {"customerId": "c42", "at": "2026-03-26", "asOf": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 103, "op": "customer.history", "args": {"customerId": "c42", "field": "phones"}}"#,
            #"{"id": 104, "op": "agent.agenda", "args": {"agentId": "maryam", "from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}}"#,
            #"{"id": 105, "op": "agent.view", "args": {"agentId": "maryam"}}"#,
            #"{"id": 106, "op": "funnel.report", "args": {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 107, "op": "report.sales", "args": {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "groupBy": ["month", "product"], "calendar": "persian"}}"#,
            #"{"id": 108, "op": "report.quotes", "args": {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 109, "op": "report.daily", "args": {"date": "2026-11-22"}}"#,
            #"{"id": 110, "op": "report.dormant", "args": {"days": 30}}"#,
            #"{"id": 111, "op": "report.receivables", "args": {"agentId": "maryam", "until": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 112, "op": "report.workload", "args": {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 113, "op": "report.targets", "args": {"period": "1405-01", "calendar": "persian"}}"#,
            #"{"id": 114, "op": "report.branches", "args": {"from": "2026-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}}"#,
            #"{"id": 115, "op": "log.read", "args": {"from": 1, "limit": 2}}"#,
            #"{"id": 123, "op": "log.read", "args": {"stream": "customer-c42", "type": "CustomerFieldEdited", "since": "2026-01-01", "limit": 1}}"#,
            #"{"id": 116, "op": "system.status", "args": {}}"#,
            #"{"id": 124, "op": "log.verify", "args": {}}"#,
            #"{"id": 125, "op": "product.list", "args": {}}"#,
            #"{"id": 126, "op": "deal.board", "args": {"pipelineId": "default", "closedDays": 3650}}"#,
            #"{"id": 118, "op": "projections.rebuild", "args": {"names": ["event-counts"]}}"#,
            // A retry gets the first answer back, with the id crmd generated for the call.
            #"{"id": 119, "op": "call.log", "args": {"customerId": "c42", "direction": "outbound", "outcome": "callback"}, "requestId": "call-c42-7", "as": "maryam"}"#,
            #"{"id": 120, "op": "call.log", "args": {"customerId": "c42", "direction": "outbound", "outcome": "callback"}, "requestId": "call-c42-7", "as": "maryam"}"#,
            #"{"id": 117, "op": "log.subscribe", "args": {"from": 3}}"#,
        ]
    }

    /// Requests that show each error code, answered on their own connection.
    static let errors = [
        "this is not JSON",
        #"{"id": 200, "op": "customer.explode", "args": {}}"#,
        #"{"id": 201, "op": "customer.register", "args": {"name": "x", "phones": ["call me"]}}"#,
        #"{"id": 202, "op": "customer.get", "args": {"customerId": "nobody"}}"#,
        #"{"id": 203, "op": "customer.edit", "args": {"customerId": "c42", "tags": ["x"]}, "expectedVersion": 1}"#,
        #"{"id": 204, "op": "payment.record", "args": {"invoiceId": "inv1", "amount": 999999999999, "method": "cash"}}"#,
        #"{"id": 206, "op": "customer.find", "args": {}}"#,
        #"{"id": 205, "op": "report.sales", "args": {"from": "2026-01-01T00:00:00Z", "to": "2027-01-01T00:00:00Z"}, "as": "maryam"}"#,
    ]

    /// A response's shape: what must stay the same when the doc is replayed.
    static func shape(_ response: JSON) -> JSON {
        if response["ok"] == true {
            return .object([
                "ok": true,
                "resultKeys": .array((response["result"]?.objectValue?.keys ?? []).sorted().map(JSON.string)),
            ])
        }
        return .object([
            "ok": false, "code": response["error"]?["code"] ?? .null, "path": response["error"]?["path"] ?? .null,
        ])
    }

    func run(_ daemon: DaemonProcess) throws -> [(String, JSON)] {
        let connection = try daemon.connect()
        var pairs: [(String, JSON)] = []
        for request in try ProtocolDocTests.requests() + ProtocolDocTests.errors {
            connection.send(request)
            pairs.append((request, try XCTUnwrap(connection.receive(), request)))
            if request.contains("log.subscribe") {
                connection.send("")
                _ = try daemon.connect()
                return pairs
                    + ProtocolDocTests.errors.map { request in
                        let errorConnection = try! daemon.connect()
                        errorConnection.send(request)
                        return (request, errorConnection.receive() ?? .null)
                    }
            }
        }
        return pairs
    }

    func testEveryExampleInTheProtocolDocReplays() throws {
        let text = try String(contentsOfFile: ProtocolDocTests.path, encoding: .utf8)
        let blocks = text.components(separatedBy: "```json\n").dropFirst().map {
            $0.components(separatedBy: "\n```")[0]
        }
        let documented = blocks.compactMap { block -> (String, JSON)? in
            let lines = block.components(separatedBy: "\n")
            guard lines.count == 2, let response = try? JSON.parse(lines[1]) else { return nil }
            return (lines[0], response)
        }
        let daemon = try DaemonProcess(self)
        let replayed = try run(daemon)
        XCTAssertEqual(
            documented.map(\.0), replayed.map(\.0),
            "the doc shows exactly the requests replayed (make docs rewrites it)")
        for ((request, documentedResponse), (_, response)) in zip(documented, replayed) {
            XCTAssertEqual(ProtocolDocTests.shape(response), ProtocolDocTests.shape(documentedResponse), request)
        }
        let ops = Set(documented.compactMap { try? JSON.parse($0.0)["op"]?.stringValue })
        let every = Set(CommandCatalogue.names + QueryCatalogue.schemas.map(\.op) + ["log.subscribe"])
        XCTAssertEqual(every.subtracting(ops), [], "every command and every query has an example")
    }

    /// `make docs`: writes the examples section of docs/protocol.md from a real daemon.
    func testWriteProtocolDoc() throws {
        guard ProcessInfo.processInfo.environment["CRMD_WRITE_DOCS"] == "1" else {
            throw XCTSkip("set CRMD_WRITE_DOCS=1 to rewrite docs/protocol.md's examples")
        }
        let daemon = try DaemonProcess(self)
        let text = try String(contentsOfFile: ProtocolDocTests.path, encoding: .utf8)
        let marker = "## Every op, as the daemon answered it\n"
        var out = String(text[..<text.range(of: marker)!.upperBound])
        out +=
            "\nGenerated by `make docs` from a fresh daemon; `make test` replays every pair and checks each\nresponse keeps its shape (ok or error code, result fields).\n"
        for (request, response) in try run(daemon) {
            let op = (try? JSON.parse(request))?["op"]?.stringValue ?? "a line that is not JSON"
            out += "\n### \(op)\n\n```json\n\(request)\n\(response.serialized())\n```\n"
        }
        try out.write(toFile: ProtocolDocTests.path, atomically: true, encoding: .utf8)
    }
}
