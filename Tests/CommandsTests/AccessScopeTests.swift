import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import XCTest

final class AccessScopeTests: XCTestCase {
    func send(_ company: Company, _ op: String, _ args: String, agent: String) async -> WireError? {
        do {
            // Through the door, as the daemon sends it: the access policy admits, then the command runs.
            let json = try JSON.parse(args)
            let audience = try XCTUnwrap(CommandCatalogue.audience(op), op)
            _ = try AccessPolicy.authorise(
                Caller(principal: agent, role: .agent), op: op, audience: audience, args: json,
                facts: company.service)
            _ = try await company.service.execute(op, json, context: CommandContext(actor: Actor(principal: agent)))
            return nil
        } catch let error as WireError {
            return error
        } catch {
            return WireError(.internal, "\(error)")
        }
    }

    func testAnAgentActsOnTheirOwnCustomersOnlyAndOnlyAsThemselves() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("mine", agent: "maryam")
        try await company.register("theirs", agent: "ali")
        let allowed = await send(company, "note.add", #"{"customerId": "mine", "text": "یادداشت"}"#, agent: "maryam")
        XCTAssertNil(allowed)
        let other = await send(company, "note.add", #"{"customerId": "theirs", "text": "یادداشت"}"#, agent: "maryam")
        XCTAssertEqual(other?.code, .forbidden)
        XCTAssertEqual(other?.path, "/customerId")
        let impersonation = await send(
            company, "call.log", #"{"customerId": "mine", "direction": "inbound", "agentId": "ali"}"#, agent: "maryam")
        XCTAssertEqual(impersonation?.code, .forbidden)
        let registerForOther = await send(
            company, "customer.register", #"{"name": "x", "agentId": "ali"}"#, agent: "maryam")
        XCTAssertEqual(registerForOther?.code, .forbidden)
        let registerOwn = await send(company, "customer.register", #"{"name": "مشتری تازه"}"#, agent: "maryam")
        XCTAssertNil(registerOwn)
        for (op, args) in [
            ("customer.assign", #"{"customerId": "mine", "agentId": "ali"}"#),
            ("product.retire", #"{"productId": "toner"}"#),
            ("agent.leave", #"{"agentId": "ali", "successorId": "maryam"}"#),
            ("customer.forget", #"{"customerId": "mine"}"#),
        ] {
            let refused = await send(company, op, args, agent: "maryam")
            XCTAssertEqual(refused?.code, .forbidden, op)
        }
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i9", "customerId": "theirs", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-12-01T00:00:00Z"}"#,
            as: "ali")
        let payOthers = await send(
            company, "payment.record", #"{"invoiceId": "i9", "amount": 1, "method": "cash"}"#, agent: "maryam")
        XCTAssertEqual(payOthers?.code, .forbidden, "documents are scoped by their customer")
    }
}
