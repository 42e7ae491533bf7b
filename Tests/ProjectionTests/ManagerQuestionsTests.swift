import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import Projections
import XCTest

/// MISSION.md's twelve questions, each answered by one query over a small history whose answer
/// is worked out by hand here.
final class ManagerQuestionsTests: XCTestCase {
    var company: Company!
    var clock: TestClock!
    var queries: CRMQueries!

    func at(_ time: String) { clock.set(time) }

    func query(_ op: String, _ args: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSON {
        do { return try queries.run(op, try JSON.parse(args)) } catch {
            XCTFail("\(op) failed: \(error)", file: file, line: line)
            throw error
        }
    }

    /// Asks `op` as agent `agent`, admitted by the access policy first, as the daemon does.
    func asAgent(_ agent: String, _ op: String, _ args: JSON) throws -> JSON {
        let audience = try XCTUnwrap(QueryCatalogue.definition(op)?.audience, op)
        let scope = try AccessPolicy.authorise(
            Caller(principal: agent, role: .agent), op: op, audience: audience, args: args,
            facts: queries)
        return try queries.run(op, args, scope: scope)
    }

    /// March 2026 (Esfand 1404 / Farvardin 1405) at a small Tehran company.
    override func setUp() async throws {
        clock = TestClock("2026-03-01T06:00:00Z")
        company = try Company(self, clock: clock.read)
        try await company.seed()
        try await company.send(
            "customer.register",
            #"{"customerId": "reza", "name": "رضا رضازاده", "phones": ["+98 912 345 6789"], "emails": ["reza@example.ir"], "birthday": "1988-03-09", "source": {"channel": "instagram", "campaign": "نوروز ۱۴۰۵", "referrer": "خانم احمدی"}, "agentId": "maryam", "branchId": "tehran"}"#
        )
        try await company.send(
            "customer.register",
            #"{"customerId": "pars", "kind": "organisation", "name": "شرکت پارس", "phones": ["021 4444 5555"], "source": {"channel": "exhibition"}, "agentId": "ali"}"#
        )
        try await company.send(
            "customer.register",
            #"{"customerId": "nava", "name": "نوا کریمی", "phones": ["0935 111 2222"], "source": {"channel": "website"}, "agentId": "maryam"}"#
        )
        try await company.send(
            "customer.register", #"{"customerId": "quiet", "name": "مشتری خاموش", "agentId": "ali"}"#)

        at("2026-03-02T07:30:00Z")
        try await company.send(
            "call.log",
            #"{"customerId": "reza", "direction": "inbound", "at": "2026-03-02T10:30:00+03:30", "outcome": "interested", "text": "قیمت چاپگر را پرسید"}"#,
            as: "maryam")
        try await company.send(
            "quote.give",
            #"{"quoteId": "q1", "customerId": "reza", "channel": "phone", "validUntil": "2026-03-10T20:00:00Z", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            as: "maryam")
        try await company.send(
            "call.log",
            #"{"customerId": "pars", "direction": "outbound", "at": "2026-03-02T11:00:00+03:30", "outcome": "no_answer"}"#,
            as: "ali")
        try await company.send(
            "quote.give",
            #"{"quoteId": "q2", "customerId": "pars", "channel": "email", "lines": [{"productId": "toner", "quantity": 10}]}"#,
            as: "ali")
        try await company.send(
            "quote.give",
            #"{"quoteId": "q3", "customerId": "nava", "channel": "in_person", "lines": [{"productId": "toner", "quantity": 1}]}"#,
            as: "maryam")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "fu1", "customerId": "pars", "due": "2026-03-03T07:00:00Z", "kind": "call", "quoteId": "q2"}"#,
            as: "ali")

        at("2026-03-02T09:00:00Z")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "reza", "basedOn": "q1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-03-25T00:00:00Z"}"#,
            as: "maryam")

        at("2026-03-03T08:05:00Z")
        try await company.send(
            "followup.defer", #"{"followupId": "fu1", "to": "2026-03-09T07:00:00Z", "reason": "مدیر خرید در سفر است"}"#,
            as: "ali")
        try await company.send(
            "email.log",
            #"{"customerId": "reza", "direction": "outbound", "at": "2026-03-03T08:00:00Z", "subject": "پیش‌فاکتور چاپگر", "text": "پیش‌فاکتور پیوست است", "address": "reza@example.ir"}"#,
            as: "maryam")
        try await company.send(
            "sms.log",
            #"{"customerId": "reza", "direction": "outbound", "at": "2026-03-03T08:05:00Z", "text": "فاکتور ارسال شد"}"#,
            as: "maryam")

        at("2026-03-19T10:30:00Z")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i2", "customerId": "pars", "basedOn": "q2", "lines": [{"productId": "toner", "quantity": 10}], "dueAt": "2026-04-05T00:00:00Z"}"#,
            as: "ali")
        try await company.send(
            "payment.record",
            #"{"invoiceId": "i2", "amount": 20000000, "method": "cheque", "at": "2026-03-19T10:30:00Z"}"#)
        at("2026-03-21T10:00:00Z")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i3", "customerId": "reza", "lines": [{"productId": "toner", "quantity": 3}], "dueAt": "2026-03-30T00:00:00Z"}"#,
            as: "maryam")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "fu2", "customerId": "nava", "due": "2026-03-23T07:00:00Z", "kind": "meeting"}"#,
            as: "maryam")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "fu3", "customerId": "reza", "due": "2026-03-24T07:00:00Z", "kind": "call"}"#, as: "maryam"
        )
        try await company.send(
            "followup.schedule",
            #"{"followupId": "fu4", "customerId": "pars", "due": "2026-03-24T08:00:00Z", "kind": "call"}"#, as: "ali")

        at("2026-03-22T09:00:00Z")  // "now" for the questions below
        queries = try CRMQueries(projector: try company.projector(), keys: company.keys, clock: clock.read)
    }

    func testQ1ACallerIsFoundByPhoneWithTheirQuotesAndAgent() throws {
        let found = try query("customer.find", #"{"phone": "۰۹۱۲-۳۴۵-۶۷۸۹"}"#)
        XCTAssertEqual(
            found["customers"]?.arrayValue?.map { $0["customerId"] }, ["reza"],
            "Persian digits and dashes, 0 instead of +98")
        XCTAssertEqual(found["customers"]?.arrayValue?.first?["name"], "رضا رضازاده")
        let file = try query("customer.get", #"{"customerId": "reza"}"#)
        XCTAssertEqual(file["interactions"]?.arrayValue?.isEmpty, false, "we have spoken before")
        XCTAssertEqual(
            file["quotes"]?.arrayValue?.map { $0["total"] }, [.object(["amount": 250_000_000, "currency": "IRR"])])
        XCTAssertEqual(file["agentId"], "maryam")
    }

    func testQ2HowTheCallerFoundUs() throws {
        let file = try query("customer.get", #"{"customerId": "reza"}"#)
        XCTAssertEqual(
            file["source"], .object(["channel": "instagram", "campaign": "نوروز ۱۴۰۵", "referrer": "خانم احمدی"]))
    }

    func testQ3AndQ4WhenWeLastSpokeWhatCameOfItAndWho() throws {
        let file = try query("customer.get", #"{"customerId": "reza"}"#)
        XCTAssertEqual(
            file["lastContact"],
            .object(["at": "2026-03-03T08:05:00.000000Z", "kind": "sms", "agentId": "maryam", "outcome": .null]))
        let pars = try query("customer.get", #"{"customerId": "pars"}"#)
        XCTAssertEqual(pars["lastContact"]?["outcome"], "no_answer")
        XCTAssertEqual(pars["lastContact"]?["agentId"], "ali")
    }

    func testQ5ShareOfQuotedCustomersWhoBecameCustomers() throws {
        // Quoted in March: reza, pars, nava. Invoiced after their quote: reza (i1), pars (i2). 2 of 3.
        let report = try query("report.quotes", #"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}"#)
        XCTAssertEqual(report["quotedCustomers"], 3)
        XCTAssertEqual(report["becameCustomers"], 2)
        XCTAssertEqual(report["percent"], .double(66.7))
    }

    func testQ6DemandPerProductByPersianMonthAcrossNowruz() throws {
        // i1 (2 March, Esfand 1404): 1 printer; i2 (19 March, still Esfand): 10 toner; i3 (21 March, Farvardin 1405): 3 toner.
        let report = try query(
            "report.sales",
            #"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "groupBy": ["month", "product"], "calendar": "persian"}"#
        )
        XCTAssertEqual(
            report["rows"],
            .array([
                .object([
                    "group": .object(["month": "1404-12", "product": "printer"]), "count": 1,
                    "amount": .object(["IRR": 250_000_000]), "quantity": 1,
                ]),
                .object([
                    "group": .object(["month": "1404-12", "product": "toner"]), "count": 1,
                    "amount": .object(["IRR": 120_000_000]), "quantity": 10,
                ]),
                .object([
                    "group": .object(["month": "1405-01", "product": "toner"]), "count": 1,
                    "amount": .object(["IRR": 36_000_000]), "quantity": 3,
                ]),
            ]))
        let gregorian = try query(
            "report.sales", #"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "groupBy": ["month"]}"#)
        XCTAssertEqual(
            gregorian["rows"],
            .array([
                .object(["group": .object(["month": "2026-03"]), "count": 3, "amount": .object(["IRR": 406_000_000])])
            ]))
    }

    func testQ7TheDaysCallsOrdersQuotesAndDeferrals() throws {
        // 2 March: two calls (reza at 07:00Z, pars at 07:30Z); reza was invoiced at 09:00Z: 1 of 2 calls led to an order.
        let day = try query("report.daily", #"{"date": "2026-03-02"}"#)
        XCTAssertEqual(day["calls"], 2)
        XCTAssertEqual(day["callsLeadingToOrder"], 1)
        XCTAssertEqual(day["callOrderPercent"], .double(50))
        XCTAssertEqual(day["orders"], 1)
        XCTAssertEqual(day["quotes"], 3)
        XCTAssertEqual(day["deferrals"], 0)
        XCTAssertEqual(try query("report.daily", #"{"date": "2026-03-03"}"#)["deferrals"], 1)
    }

    func testQ8DeferredCallsComeBackAsReminders() throws {
        let agenda = try query(
            "agent.agenda", #"{"agentId": "ali", "from": "2026-03-01T00:00:00Z", "to": "2026-03-31T00:00:00Z"}"#)
        let followups = try XCTUnwrap(agenda["followups"]?.arrayValue)
        XCTAssertEqual(followups.map { $0["followupId"] }, ["fu1", "fu4"], "ordered by due time")
        XCTAssertEqual(followups[0]["due"], "2026-03-09T07:00:00Z", "the deferred call is due at its new time")
        XCTAssertEqual(followups[0]["overdue"], true)
        XCTAssertEqual(agenda["deferred"]?.arrayValue?.map { $0["followupId"] }, ["fu1"])
        let maryam = try query(
            "agent.agenda", #"{"agentId": "maryam", "from": "2026-03-08T00:00:00Z", "to": "2026-03-12T00:00:00Z"}"#)
        XCTAssertEqual(maryam["birthdays"]?.arrayValue?.map { $0["customerId"] }, ["reza"], "a birthday on 9 March")
        XCTAssertEqual(maryam["expiringQuotes"]?.arrayValue?.map { $0["quoteId"] }, ["q1"])
    }

    func testQ9CustomersWithoutContactAndWhy() throws {
        // Now is 22 March 09:00Z. Last contacts: reza 3 March 08:05Z (19 days), pars 2 March 07:30Z (20 days); nava and quiet never.
        let report = try query("report.dormant", #"{"days": 15}"#)
        XCTAssertEqual(report["customers"]?.arrayValue?.map { $0["customerId"] }, ["nava", "quiet", "pars", "reza"])
        XCTAssertEqual(report["customers"]?.arrayValue?[2]["lastContact"]?["outcome"], "no_answer")
        XCTAssertEqual(report["customers"]?.arrayValue?[2]["daysSince"], 20)
        XCTAssertEqual(report["customers"]?.arrayValue?[3]["daysSince"], 19)
        XCTAssertEqual(
            try query("report.dormant", #"{"days": 20}"#)["customers"]?.arrayValue?.map { $0["customerId"] },
            ["nava", "quiet", "pars"])
        XCTAssertEqual(
            try query("report.dormant", #"{"days": 21}"#)["customers"]?.arrayValue?.map { $0["customerId"] },
            ["nava", "quiet"])
    }

    func testQ10PaymentsDueFromOneAgentsCustomersByADate() throws {
        // Maryam's customers: reza owes i1 250,000,000 (due 25 Mar) and i3 36,000,000 (due 30 Mar).
        let byMonthEnd = try query("report.receivables", #"{"agentId": "maryam", "until": "2026-03-31T00:00:00Z"}"#)
        XCTAssertEqual(byMonthEnd["invoices"]?.arrayValue?.map { $0["invoiceId"] }, ["i1", "i3"])
        XCTAssertEqual(byMonthEnd["total"], .object(["IRR": 286_000_000]))
        XCTAssertEqual(
            try query("report.receivables", #"{"agentId": "maryam", "until": "2026-03-26T00:00:00Z"}"#)["total"],
            .object(["IRR": 250_000_000]))
        // Ali's pars paid 20,000,000 of 120,000,000 on i2, due 5 April.
        XCTAssertEqual(
            try query("report.receivables", #"{"agentId": "ali", "until": "2026-04-30T00:00:00Z"}"#)["total"],
            .object(["IRR": 100_000_000]))
    }

    func testQ11PlannedActivitiesPerStaffMemberAndKind() throws {
        let report = try query("report.workload", #"{"from": "2026-03-22T00:00:00Z", "to": "2026-03-29T00:00:00Z"}"#)
        XCTAssertEqual(
            report["agents"],
            .array([
                .object(["agentId": "ali", "total": 1, "byKind": .object(["call": 1])]),
                .object(["agentId": "maryam", "total": 2, "byKind": .object(["call": 1, "meeting": 1])]),
            ]))
    }

    func testQ12EmailsAndSMSAreInTheFileAndSearchable() throws {
        let file = try query("customer.get", #"{"customerId": "reza"}"#)
        let kinds = file["interactions"]?.arrayValue?.compactMap { $0["kind"]?.stringValue }
        XCTAssertEqual(kinds, ["call", "email", "sms"])
        XCTAssertEqual(file["interactions"]?.arrayValue?[1]["subject"], "پیش‌فاکتور چاپگر")
        // Typed with an Arabic yeh, a space for the ZWNJ and a different word order.
        let found = try query("customer.find", #"{"text": "چاپگر پيش فاکتور"}"#)
        XCTAssertEqual(found["customers"]?.arrayValue?.map { $0["customerId"] }, ["reza"])
        XCTAssertEqual(try query("customer.find", #"{"email": "REZA@example.ir"}"#)["customers"]?.arrayValue?.count, 1)
        XCTAssertEqual(try query("customer.find", #"{"text": "هیچ‌چیز"}"#)["total"], 0)
    }

    func testFunnelTargetsBranchesAndAgentView() async throws {
        at("2026-03-22T10:00:00Z")
        try await company.send("deal.open", #"{"dealId": "d1", "customerId": "reza"}"#, as: "maryam")
        try await company.send("deal.open", #"{"dealId": "d2", "customerId": "nava"}"#, as: "maryam")
        at("2026-03-24T10:00:00Z")
        try await company.send("deal.move", #"{"dealId": "d1", "stage": "proposal"}"#, as: "maryam")
        try await company.send("deal.lose", #"{"dealId": "d2", "reason": "price"}"#, as: "maryam")
        at("2026-03-26T10:00:00Z")
        try await company.send("deal.win", #"{"dealId": "d1"}"#, as: "maryam")
        try await company.send(
            "target.set",
            #"{"period": "2026-03", "scope": "agent", "scopeId": "maryam", "amount": {"amount": 572000000, "currency": "IRR"}}"#,
            as: "sara")
        let funnel = try query("funnel.report", #"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}"#)
        let stages = Dictionary(
            uniqueKeysWithValues: (funnel["stages"]?.arrayValue ?? []).map { ($0["stage"]!.stringValue!, $0) })
        XCTAssertEqual(stages["lead"]?["entered"], 2)
        XCTAssertEqual(stages["lead"]?["left"], 2)
        XCTAssertEqual(stages["lead"]?["lost"], 1)
        XCTAssertEqual(stages["lead"]?["conversionToNext"], .double(50))
        XCTAssertEqual(stages["lead"]?["medianDaysInStage"], .double(2))
        XCTAssertEqual(stages["proposal"]?["conversionToNext"], .double(100))
        XCTAssertEqual(funnel["won"], 1)
        XCTAssertEqual(funnel["medianDaysToClose"], .double(4))

        // Maryam's March invoices that stand: i1 250,000,000 + i3 36,000,000 = 286,000,000 of 572,000,000.
        let targets = try query("report.targets", #"{"period": "2026-03"}"#)
        XCTAssertEqual(
            targets["targets"]?.arrayValue?.first?["actual"], .object(["amount": 286_000_000, "currency": "IRR"]))
        XCTAssertEqual(targets["targets"]?.arrayValue?.first?["percent"], .double(50))

        let view = try query("agent.view", #"{"agentId": "maryam"}"#)
        XCTAssertEqual(view["customers"]?.arrayValue?.compactMap { $0["customerId"]?.stringValue }, ["nava", "reza"])
        XCTAssertEqual(view["totalDue"], .object(["IRR": 286_000_000]))

        let branches = try query("report.branches", #"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}"#)
        let tehran = branches["branches"]?.arrayValue?.first { $0["branchId"] == "tehran" }
        XCTAssertEqual(tehran?["sales"], 2, "reza's two invoices; pars has no branch")
        XCTAssertEqual(tehran?["expectedReceipts"], .object(["IRR": 286_000_000]))
    }
}

extension ManagerQuestionsTests {
    func testStatusAndLogReadAnswerFromTheLogAndTheProjections() throws {
        let head = try company.store.head().position
        let before = try query("system.status", "{}")
        XCTAssertEqual(before["headPosition"], .int(Int64(head)))
        XCTAssertEqual(
            before["projections"]?.arrayValue?.map { $0["lag"] }, Array(repeating: .int(Int64(head)), count: 3),
            "status reports the lag as it is; nothing has folded the log yet")
        _ = try query("customer.get", #"{"customerId": "reza"}"#)
        let status = try query("system.status", "{}")
        XCTAssertEqual(
            status["projections"]?.arrayValue?.map { $0["lag"] }, [0, 0, 0], "a query catches the projections up first")
        XCTAssertEqual(status["eventsByType"]?["InvoiceIssued"], 3)
        let page = try query("log.read", #"{"from": 5, "limit": 3}"#)
        XCTAssertEqual(page["events"]?.arrayValue?.map { $0["position"] }, [5, 6, 7])
        XCTAssertEqual(page["next"], 8)
        let unknown = try? queries.run("report.nothing", .object([:]))
        XCTAssertNil(unknown)
        XCTAssertThrowsError(
            try queries.run("report.sales", try JSON.parse(#"{"from": "yesterday", "to": "2026-01-01T00:00:00Z"}"#))
        ) {
            XCTAssertEqual(($0 as? WireError)?.path, "/from")
        }
    }
}

extension ManagerQuestionsTests {
    func testAnAgentQueriesTheirOwnCustomersAgendaAndViewOnly() throws {
        XCTAssertEqual(
            try asAgent("maryam", "customer.get", try JSON.parse(#"{"customerId": "reza"}"#))["customerId"], "reza")
        XCTAssertThrowsError(try asAgent("maryam", "customer.get", try JSON.parse(#"{"customerId": "pars"}"#))) {
            XCTAssertEqual(($0 as? WireError)?.code, .forbidden)
        }
        let found = try asAgent("ali", "customer.find", try JSON.parse(#"{"text": "پیش‌فاکتور"}"#))
        XCTAssertEqual(found["total"], 0, "ali does not see maryam's customer in search")
        XCTAssertThrowsError(try asAgent("maryam", "agent.agenda", try JSON.parse(#"{"agentId": "ali"}"#)))
        XCTAssertNoThrow(try asAgent("maryam", "agent.view", try JSON.parse(#"{"agentId": "maryam"}"#)))
        XCTAssertThrowsError(
            try asAgent(
                "maryam", "report.sales",
                try JSON.parse(#"{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}"#))
        ) {
            XCTAssertEqual(($0 as? WireError)?.code, .forbidden)
        }
        for op in ["report.sales", "report.daily", "funnel.report", "log.read", "system.status"] {
            XCTAssertThrowsError(
                try asAgent("maryam", op, .object(JSONObject())), "who may ask comes before what was asked"
            ) {
                XCTAssertEqual(($0 as? WireError)?.code, .forbidden, op)
            }
        }
    }
}
