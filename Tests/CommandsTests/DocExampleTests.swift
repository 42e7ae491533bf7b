import CRMEvents
import CRMTestSupport
import Commands
import EventStore
import Foundation
import JSONKit
import Projections
import XCTest

/// The repository's root, found from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

final class DocExampleTests: XCTestCase {
    func testEveryRequestInTheCommandsDocRunsInOrderAgainstARealStore() async throws {
        let text = try String(contentsOfFile: repositoryRoot + "/docs/commands.md", encoding: .utf8)
        let requests = text.components(separatedBy: "\n").filter { $0.hasPrefix("{\"id\":") }.map {
            try! JSON.parse($0)
        }
        XCTAssertEqual(
            Set(requests.compactMap { $0["op"]?.stringValue }), Set(CommandCatalogue.names), "the doc shows every op")
        let company = try Company(self)
        for request in requests {
            let op = try XCTUnwrap(request["op"]?.stringValue)
            let context = CommandContext(
                actor: Actor(principal: request["as"]?.stringValue ?? "admin"),
                requestId: request["requestId"]?.stringValue,
                expectedVersion: request["expectedVersion"]?.intValue.map { StreamVersion($0) })
            do {
                _ = try await company.service.execute(op, request["args"] ?? .object([:]), context: context)
            } catch {
                XCTFail("example \(request["id"]!.serialized()) (\(op)) was refused: \(error)")
            }
        }
        func assignments(_ customer: String) throws -> [String] {
            try company.events("customer-\(customer)").compactMap { event -> String? in
                if case .customerAssigned(let e) = event { return "\(e.from)->\(e.to) \(e.reason)" } else { return nil }
            }
        }
        XCTAssertEqual(try assignments("pars"), ["ali->maryam reassigned"])
        XCTAssertEqual(
            try assignments("nima"), ["ali->maryam agent_left"], "ali's customer went to the successor when ali left")
        XCTAssertNil(try company.key("pars"))
        XCTAssertNil(try company.store.verify().problem)
    }

    func testCheckedInSchemaFilesMatchTheCode() throws {
        for file in SchemaFiles.all(queries: QueryCatalogue.schemas) {
            let path = repositoryRoot + "/schemas/" + file.path
            let stored = try? String(contentsOfFile: path, encoding: .utf8)
            XCTAssertEqual(stored, file.content, "\(file.path) is stale: run make schemas")
        }
    }

    func testEveryEventTheCodeWritesHasACurrentSchemaAndEveryOpAnArgumentSchema() {
        for entry in EventCatalogue.entries where entry.current {
            XCTAssertNotNil(EventCatalogue.entry(type: entry.type, version: entry.version))
        }
        let spec = """
            customer.register customer.edit customer.assign customer.contact.add customer.contact.remove
            customer.competitor.note customer.forget call.log meeting.log email.log sms.log note.add negotiation.log
            quote.give proforma.issue invoice.issue invoice.void payment.record deal.open deal.move deal.win deal.lose
            pipeline.define followup.schedule followup.complete followup.defer followup.cancel contract.support
            product.define product.reprice product.retire agent.hire agent.leave branch.open target.set
            """
        XCTAssertEqual(
            CommandCatalogue.names, spec.split(whereSeparator: \.isWhitespace).map(String.init).sorted(),
            "every command of docs/commands.md")
        for op in CommandCatalogue.names { XCTAssertNotNil(CommandCatalogue.argumentSchema(op), op) }
    }
}
