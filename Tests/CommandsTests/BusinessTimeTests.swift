import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import XCTest

/// Business time: every command that records something that happened takes an `at`; the facts
/// it writes carry it, the log's own `recordedAt` stays the log's clock, and facts that follow
/// others (a payment its invoice, a deal's move its opening) are refused when dated before them.
final class BusinessTimeTests: XCTestCase {
    var company: Company!
    var clock: TestClock!
    var sent: Set<String> = []

    override func setUp() async throws {
        clock = TestClock("2026-06-01T10:00:00Z")
        company = try Company(self, clock: clock.read)
    }

    /// Sends `op` dated `at` and checks that every event of its commit carries that business time
    /// while the log recorded it at the clock's time.
    @discardableResult
    func dated(
        _ op: String, _ args: String, at: String, as principal: String = "admin",
        file: StaticString = #filePath, line: UInt = #line
    ) async throws -> CommandResult {
        guard case .object(var members) = try JSON.parse(args) else { throw XCTSkip("arguments must be an object") }
        members["at"] = .string(at)
        let result = try await company.send(op, JSON.object(members).serialized(), as: principal, file: file, line: line)
        sent.insert(op)
        let first = Position(rawValue: UInt64(result.position) - UInt64(result.events.count) + 1)
        let written: [RecordedEvent] = try company.store.read(from: first, limit: result.events.count)
        XCTAssertEqual(written.map(\.type), result.events, op, file: file, line: line)
        for event in written {
            XCTAssertEqual(try EventCatalogue.fact(event).at, Timestamp(rfc3339: at), event.type, file: file, line: line)
            XCTAssertEqual(event.recordedAt, clock.read(), "recordedAt is the log's clock", file: file, line: line)
        }
        return result
    }

    func testEveryCommandThatRecordsWhatHappenedTakesItsBusinessTime() async throws {
        try await dated(
            "branch.open", #"{"branchId": "tehran", "name": "شعبه تهران", "region": "تهران"}"#, at: "2025-01-02T09:00:00Z")
        try await dated(
            "agent.hire", #"{"agentId": "maryam", "name": "مریم رضایی", "role": "agent", "branchId": "tehran"}"#,
            at: "2025-01-03T09:00:00Z")
        try await dated(
            "agent.hire", #"{"agentId": "ali", "name": "علی محمدی", "role": "agent"}"#, at: "2025-01-03T09:00:00Z")
        try await dated(
            "agent.hire", #"{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}"#,
            at: "2025-01-03T09:30:00+03:30")
        try await dated(
            "product.define",
            #"{"productId": "printer", "name": "چاپگر لیزری", "unitPrice": {"amount": 250000000, "currency": "IRR"}}"#,
            at: "2025-01-04T09:00:00Z")
        try await dated(
            "product.define",
            #"{"productId": "fax", "name": "فکس", "unitPrice": {"amount": 90000000, "currency": "IRR"}}"#,
            at: "2025-01-04T09:00:00Z")
        try await dated(
            "product.reprice", #"{"productId": "printer", "unitPrice": {"amount": 270000000, "currency": "IRR"}}"#,
            at: "2025-06-01T09:00:00Z")
        try await dated(
            "pipeline.define", #"{"pipelineId": "b2b", "stages": ["lead", "demo", "won", "lost"]}"#,
            at: "2025-01-05T09:00:00Z")
        try await dated(
            "target.set",
            #"{"targetId": "t1", "period": "2025", "scope": "company", "amount": {"amount": 9000000000, "currency": "IRR"}}"#,
            at: "2025-01-05T09:00:00Z")
        try await dated(
            "customer.register", #"{"customerId": "c1", "kind": "organisation", "name": "شرکت پارس", "phones": ["0912 345 6789"], "agentId": "maryam"}"#,
            at: "2025-02-01T09:00:00Z")
        try await dated("customer.edit", #"{"customerId": "c1", "phones": ["0935 111 2222"]}"#, at: "2025-02-10T09:00:00Z")
        try await dated(
            "customer.contact.add", #"{"customerId": "c1", "contactId": "k1", "name": "خانم احمدی"}"#,
            at: "2025-02-11T09:00:00Z")
        try await dated(
            "customer.contact.remove", #"{"customerId": "c1", "contactId": "k1"}"#, at: "2025-02-12T09:00:00Z")
        try await dated(
            "customer.competitor.note", #"{"customerId": "c1", "competitor": "پارس‌تک", "offer": "ده درصد تخفیف"}"#,
            at: "2025-02-13T09:00:00Z")
        try await dated("customer.assign", #"{"customerId": "c1", "agentId": "ali"}"#, at: "2025-02-14T09:00:00Z")
        for (n, kind) in InteractionKind.allCases.enumerated() {
            let fields =
                switch kind {
                case .call: #""direction": "inbound""#
                case .email: #""direction": "outbound", "subject": "پیش‌فاکتور""#
                case .negotiation: #""subject": "قیمت", "outcome": "agreed""#
                case .note, .sms: #""text": "پیگیری""#
                case .meeting: #""outcome": "order""#
                }
            try await dated(
                kind.op, #"{"customerId": "c1", \#(fields)}"#, at: "2025-03-0\(n + 1)T09:00:00Z", as: "ali")
        }
        try await dated(
            "quote.give",
            #"{"quoteId": "q1", "customerId": "c1", "channel": "phone", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            at: "2025-03-10T09:00:00Z", as: "ali")
        try await dated(
            "proforma.issue",
            #"{"proformaId": "pf1", "customerId": "c1", "basedOn": "q1", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            at: "2025-03-12T09:00:00Z", as: "ali")
        try await dated(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "basedOn": "pf1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2025-04-15T00:00:00Z"}"#,
            at: "2025-03-15T09:00:00Z", as: "ali")
        try await dated(
            "payment.record", #"{"invoiceId": "i1", "amount": 100000000, "method": "transfer"}"#,
            at: "2025-03-20T09:00:00Z")
        try await dated(
            "invoice.issue",
            #"{"invoiceId": "i2", "customerId": "c1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2025-08-15T00:00:00Z"}"#,
            at: "2025-07-01T09:00:00Z", as: "ali")
        try await dated("invoice.void", #"{"invoiceId": "i2", "reason": "اشتباه"}"#, at: "2025-07-02T09:00:00Z")
        try await dated(
            "deal.open", #"{"dealId": "d1", "customerId": "c1", "pipelineId": "b2b"}"#, at: "2025-03-01T09:00:00Z",
            as: "ali")
        try await dated("deal.move", #"{"dealId": "d1", "stage": "demo"}"#, at: "2025-03-05T09:00:00Z", as: "ali")
        try await dated("deal.win", #"{"dealId": "d1", "invoiceId": "i1"}"#, at: "2025-03-15T09:00:00Z", as: "ali")
        try await dated("deal.open", #"{"dealId": "d2", "customerId": "c1"}"#, at: "2025-04-01T09:00:00Z", as: "ali")
        try await dated("deal.lose", #"{"dealId": "d2", "reason": "price"}"#, at: "2025-04-20T09:00:00Z", as: "ali")
        try await dated(
            "followup.schedule",
            #"{"followupId": "fu1", "customerId": "c1", "due": "2025-03-05T09:00:00Z", "kind": "call"}"#,
            at: "2025-03-01T09:00:00Z", as: "ali")
        try await dated(
            "followup.defer", #"{"followupId": "fu1", "to": "2025-03-08T09:00:00Z"}"#, at: "2025-03-04T09:00:00Z",
            as: "ali")
        try await dated("followup.complete", #"{"followupId": "fu1"}"#, at: "2025-03-08T09:30:00Z", as: "ali")
        try await dated(
            "followup.schedule",
            #"{"followupId": "fu2", "customerId": "c1", "due": "2025-05-05T09:00:00Z", "kind": "visit"}"#,
            at: "2025-05-01T09:00:00Z", as: "ali")
        try await dated("followup.cancel", #"{"followupId": "fu2"}"#, at: "2025-05-02T09:00:00Z", as: "ali")
        try await dated(
            "contract.support",
            #"{"contractId": "s1", "customerId": "c1", "productId": "printer", "startsOn": "2025-04-01", "expiresOn": "2026-04-01"}"#,
            at: "2025-03-25T09:00:00Z", as: "ali")
        try await dated("product.retire", #"{"productId": "fax"}"#, at: "2025-08-01T09:00:00Z")
        try await dated("agent.leave", #"{"agentId": "sara", "successorId": "ali"}"#, at: "2025-09-01T09:00:00Z")

        XCTAssertEqual(
            sent, Set(CommandCatalogue.names).subtracting(["customer.forget"]),
            "every command but forgetting was sent with a business time")
        let refused = await company.refusal(
            "customer.forget", #"{"customerId": "c1", "at": "2025-01-01T00:00:00Z"}"#)
        XCTAssertEqual(refused?.code, .invalidArgs, "forgetting happens now: it takes no at")
        XCTAssertEqual(refused?.path, "/at")

        // A back-dated quote is priced as the catalogue stood on its date.
        guard case .quoteGiven(let march) = try company.events("quote-q1")[0] else { return XCTFail() }
        XCTAssertEqual(march.total, 250_000_000, "the price before the June reprice")
        guard case .invoiceIssued(let july) = try company.events("invoice-i2")[0] else { return XCTFail() }
        XCTAssertEqual(july.document.total, 270_000_000, "the price after the June reprice")
        guard case .paymentRecorded(let payment) = try company.events("invoice-i1")[1] else { return XCTFail() }
        XCTAssertEqual(payment.at, "2025-03-20T09:00:00.000000Z", "a payment's own at is the business time, in UTC")
    }

    func testWithoutAtAFactHappenedWhenItWasDecided() async throws {
        try await company.seed()
        clock.set("2026-06-02T08:15:00Z")
        let result = try await company.register("c1")
        let event = try company.store.read(from: result.position, limit: 1)[0]
        XCTAssertEqual(try EventCatalogue.fact(event).at, Timestamp(rfc3339: "2026-06-02T08:15:00Z"))
        XCTAssertEqual(try JSON.parse(event.data)["at"], "2026-06-02T08:15:00.000000Z", "stored beside the fields")
        XCTAssertEqual(event.schema, 2)
    }

    func testFactsAreNotDatedInTheFutureNorBeforeWhatTheyFollow() async throws {
        try await company.seed()
        try await company.register("c1")
        await company.assertRule(
            "at_in_future", "call.log", #"{"customerId": "c1", "direction": "inbound", "at": "2026-06-02T10:00:00Z"}"#,
            as: "maryam")
        try await company.send(
            "call.log", #"{"customerId": "c1", "direction": "inbound", "at": "2026-06-01T10:04:00Z"}"#, as: "maryam")
        let invalid = await company.refusal(
            "call.log", #"{"customerId": "c1", "direction": "inbound", "at": "2025-02-30T10:00:00Z"}"#, as: "maryam")
        XCTAssertEqual(invalid?.code, .invalidArgs)
        XCTAssertEqual(invalid?.path, "/at")

        try await company.send(
            "quote.give",
            #"{"quoteId": "q1", "customerId": "c1", "channel": "phone", "at": "2026-05-10T09:00:00Z", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            as: "maryam")
        await company.assertRule(
            "document_before_basis", "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "basedOn": "q1", "at": "2026-05-09T09:00:00Z", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-06-30T00:00:00Z"}"#,
            as: "maryam")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "basedOn": "q1", "at": "2026-05-11T09:00:00Z", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-06-30T00:00:00Z"}"#,
            as: "maryam")
        await company.assertRule(
            "payment_before_invoice", "payment.record",
            #"{"invoiceId": "i1", "amount": 1000, "method": "cash", "at": "2026-05-11T08:59:59Z"}"#)
        await company.assertRule("void_before_invoice", "invoice.void", #"{"invoiceId": "i1", "at": "2026-05-01T00:00:00Z"}"#)

        try await company.send(
            "deal.open", #"{"dealId": "d1", "customerId": "c1", "at": "2026-05-01T09:00:00Z"}"#, as: "maryam")
        await company.assertRule(
            "deal_before_opened", "deal.move", #"{"dealId": "d1", "stage": "proposal", "at": "2026-04-30T09:00:00Z"}"#)
        try await company.send(
            "deal.move", #"{"dealId": "d1", "stage": "proposal", "at": "2026-05-05T09:00:00Z"}"#, as: "maryam")
        await company.assertRule(
            "deal_before_last_move", "deal.win", #"{"dealId": "d1", "at": "2026-05-04T09:00:00Z"}"#)
        await company.assertRule(
            "deal_before_last_move", "deal.lose", #"{"dealId": "d1", "reason": "price", "at": "2026-05-04T09:00:00Z"}"#)

        try await company.send(
            "followup.schedule",
            #"{"followupId": "fu1", "customerId": "c1", "due": "2026-05-20T09:00:00Z", "kind": "call", "at": "2026-05-15T09:00:00Z"}"#,
            as: "maryam")
        for (op, extra) in [("followup.complete", ""), ("followup.cancel", ""), ("followup.defer", #", "to": "2026-07-01T00:00:00Z""#)] {
            await company.assertRule(
                "followup_before_scheduled", op, #"{"followupId": "fu1", "at": "2026-05-14T09:00:00Z"\#(extra)}"#)
        }

        try await company.send(
            "agent.hire", #"{"agentId": "neda", "name": "ندا", "role": "agent", "at": "2026-05-01T00:00:00Z"}"#)
        await company.assertRule(
            "leave_before_hire", "agent.leave", #"{"agentId": "neda", "successorId": "ali", "at": "2026-04-01T00:00:00Z"}"#)
        try await company.send(
            "product.define",
            #"{"productId": "scanner", "name": "اسکنر", "unitPrice": {"amount": 80000000, "currency": "IRR"}, "at": "2026-05-01T00:00:00Z"}"#)
        await company.assertRule(
            "price_before_product", "product.reprice",
            #"{"productId": "scanner", "unitPrice": {"amount": 85000000, "currency": "IRR"}, "at": "2026-04-01T00:00:00Z"}"#)
    }

    func testHistoryMayNameStaffWhoHaveLeftSinceButNotAfterTheyLeft() async throws {
        try await company.seed()
        try await company.register("c1", agent: "ali")
        clock.set("2026-07-01T10:00:00Z")
        try await company.send(
            "agent.leave", #"{"agentId": "maryam", "successorId": "ali", "at": "2026-06-15T00:00:00Z"}"#)
        try await company.send(
            "call.log", #"{"customerId": "c1", "agentId": "maryam", "direction": "inbound", "at": "2026-06-10T10:00:00Z"}"#)
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "agentId": "maryam", "at": "2026-06-11T10:00:00Z", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-07-21T00:00:00Z"}"#)
        await company.assertRule(
            "agent_outside_company", "call.log",
            #"{"customerId": "c1", "agentId": "maryam", "direction": "inbound", "at": "2026-06-20T10:00:00Z"}"#)
        await company.assertRule(
            "agent_outside_company", "customer.register",
            #"{"customerId": "c2", "name": "نو", "agentId": "maryam", "at": "2026-06-05T00:00:00Z"}"#)
    }
}
