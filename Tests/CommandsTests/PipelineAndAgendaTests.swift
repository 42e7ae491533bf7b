import CRMEvents
import CRMTestSupport
@testable import Commands
import EventStore
import Foundation
import JSONKit
import XCTest

final class PipelineAndAgendaTests: XCTestCase {
    func testADealMovesThroughTheDefaultStagesUntilWon() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        let opened = try await company.send(
            "deal.open",
            #"{"dealId": "d1", "customerId": "c1", "title": "۲۰ چاپگر برای دفتر مرکزی", "value": {"amount": 5000000000, "currency": "IRR"}}"#,
            as: "maryam")
        XCTAssertEqual(opened.stream, "deal-d1")
        guard case .dealOpened(let deal) = try company.events("deal-d1")[0] else { return XCTFail() }
        XCTAssertEqual(deal.stage, "lead")
        XCTAssertEqual(deal.pipelineId, "default")
        try await company.send("deal.move", #"{"dealId": "d1", "stage": "qualified"}"#, as: "maryam")
        try await company.send("deal.move", #"{"dealId": "d1", "stage": "negotiation"}"#, as: "maryam")
        await company.assertRule("stage_unknown", "deal.move", #"{"dealId": "d1", "stage": "signed"}"#)
        await company.assertRule("stage_closed", "deal.move", #"{"dealId": "d1", "stage": "won"}"#)
        await company.assertRule("no_change", "deal.move", #"{"dealId": "d1", "stage": "negotiation"}"#)
        try await company.send("deal.win", #"{"dealId": "d1"}"#, as: "maryam")
        await company.assertRule("deal_closed", "deal.move", #"{"dealId": "d1", "stage": "proposal"}"#)
        await company.assertRule("deal_closed", "deal.lose", #"{"dealId": "d1", "reason": "price"}"#)
        await company.assertRule("deal_closed", "deal.win", #"{"dealId": "d1"}"#)
        XCTAssertEqual(
            try company.events("deal-d1").map(\.eventType), ["DealOpened", "DealMoved", "DealMoved", "DealWon"])
    }

    func testACustomPipelineHasOnlyItsStagesAndLosingNeedsAReason() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        await company.assertRule(
            "stages_need_outcomes", "pipeline.define",
            #"{"pipelineId": "tender", "stages": ["invited", "submitted", "evaluated"]}"#)
        try await company.send(
            "pipeline.define",
            #"{"pipelineId": "tender", "name": "مناقصه", "stages": ["invited", "submitted", "won", "lost"]}"#,
            as: "sara")
        try await company.send("deal.open", #"{"dealId": "d2", "customerId": "c1", "pipelineId": "tender"}"#, as: "ali")
        await company.assertRule("stage_unknown", "deal.move", #"{"dealId": "d2", "stage": "qualified"}"#)
        await company.assertRule(
            "stage_in_use", "pipeline.define", #"{"pipelineId": "tender", "stages": ["submitted", "won", "lost"]}"#)
        let noReason = await company.refusal("deal.lose", #"{"dealId": "d2"}"#)
        XCTAssertEqual(noReason?.path, "/reason")
        try await company.send(
            "deal.lose",
            #"{"dealId": "d2", "reason": "competitor", "competitor": "شرکت رقیب", "note": "قیمت آنها ۱۰٪ کمتر بود"}"#,
            as: "ali")
        guard case .dealLost(let lost) = try company.events("deal-d2").last else { return XCTFail() }
        XCTAssertEqual(lost.from, "invited")
        XCTAssertEqual(try company.key("c1")?.open(lost.note!), "قیمت آنها ۱۰٪ کمتر بود")
        let missing = await company.refusal("deal.open", #"{"customerId": "c1", "pipelineId": "nope"}"#, as: "ali")
        XCTAssertEqual(missing?.code, .notFound)
    }

    func testFollowupsAreDeferredCompletedOrCancelledOnce() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "f1", "customerId": "c1", "due": "2026-11-25T10:00:00+03:30", "kind": "call", "note": "پیگیری پیش‌فاکتور"}"#,
            as: "maryam")
        await company.assertRule(
            "defer_not_later", "followup.defer", #"{"followupId": "f1", "to": "2026-11-24T10:00:00+03:30"}"#)
        try await company.send(
            "followup.defer", #"{"followupId": "f1", "to": "2026-12-01T10:00:00+03:30", "reason": "مشتری در سفر است"}"#,
            as: "maryam")
        try await company.send("followup.complete", #"{"followupId": "f1", "outcome": "order"}"#, as: "maryam")
        await company.assertRule("followup_completed", "followup.cancel", #"{"followupId": "f1"}"#)
        await company.assertRule(
            "followup_completed", "followup.defer", #"{"followupId": "f1", "to": "2027-01-01T00:00:00Z"}"#)

        try await company.send(
            "followup.schedule",
            #"{"followupId": "f2", "customerId": "c1", "due": "2026-11-26T10:00:00Z", "kind": "meeting"}"#, as: "maryam"
        )
        try await company.send("followup.cancel", #"{"followupId": "f2"}"#, as: "maryam")
        await company.assertRule("followup_cancelled", "followup.complete", #"{"followupId": "f2"}"#, as: "maryam")
        XCTAssertEqual(
            try company.events("followup-f1").map(\.eventType),
            ["FollowupScheduled", "FollowupDeferred", "FollowupCompleted"])
        let unknownDeal = await company.refusal(
            "followup.schedule",
            #"{"customerId": "c1", "due": "2026-11-26T10:00:00Z", "kind": "call", "dealId": "nope"}"#, as: "maryam")
        XCTAssertEqual(unknownDeal?.path, "/dealId")
    }

    func testEveryInteractionKindIsRecordedOnTheCustomersStream() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "call.log",
            #"{"customerId": "c1", "direction": "outbound", "at": "2026-03-03T09:30:00+03:30", "durationSeconds": 300, "outcome": "callback"}"#,
            as: "maryam")
        try await company.send(
            "meeting.log", #"{"customerId": "c1", "at": "2026-03-04T11:00:00+03:30", "text": "جلسه در دفتر مشتری"}"#,
            as: "maryam")
        try await company.send(
            "email.log",
            #"{"customerId": "c1", "direction": "inbound", "subject": "درخواست پیش‌فاکتور", "text": "لطفاً پیش‌فاکتور بفرستید", "address": "reza@example.ir"}"#,
            as: "maryam")
        try await company.send(
            "sms.log", #"{"customerId": "c1", "direction": "outbound", "text": "یادآوری جلسه فردا 😀"}"#, as: "maryam")
        try await company.send("note.add", #"{"customerId": "c1", "text": "علاقه‌مند به قرارداد سالانه"}"#, as: "maryam")
        try await company.send(
            "negotiation.log",
            #"{"customerId": "c1", "subject": "تخفیف حجمی", "outcome": "agreed", "text": "۵٪ برای بیش از ۱۰ عدد"}"#,
            as: "maryam")
        XCTAssertEqual(
            try company.events("activity-c1").map(\.eventType),
            ["CallLogged", "MeetingLogged", "EmailLogged", "SmsLogged", "NoteAdded", "NegotiationLogged"])
        guard case .interaction(.sms, let sms) = try company.events("activity-c1")[3] else { return XCTFail() }
        XCTAssertEqual(try company.key("c1")?.open(sms.text!), "یادآوری جلسه فردا 😀")
        let noText = await company.refusal("note.add", #"{"customerId": "c1"}"#, as: "maryam")
        XCTAssertEqual(noText?.path, "/text")
        let badTime = await company.refusal(
            "call.log", #"{"customerId": "c1", "direction": "inbound", "at": "2026-13-01T00:00:00Z"}"#, as: "maryam")
        XCTAssertEqual(badTime?.path, "/at")
        let noAgent = await company.refusal("note.add", #"{"customerId": "c1", "text": "x"}"#, as: "admin")
        XCTAssertEqual(noAgent?.path, "/agentId", "an admin must say which agent spoke")
    }

    func testManyAgentsLoggingCallsWithOneCustomerAtOnceDoNotConflict() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("big")
        let service = company.service
        let failures = await withTaskGroup(of: Int.self) { group in
            for i in 0..<200 {
                group.addTask {
                    do {
                        _ = try await service.execute(
                            "call.log",
                            try! JSON.parse(
                                #"{"customerId": "big", "direction": "inbound", "text": "تماس \#(i)", "agentId": "maryam"}"#
                            ))
                        return 0
                    } catch {
                        return 1
                    }
                }
            }
            return await group.reduce(0, +)
        }
        XCTAssertEqual(failures, 0)
        XCTAssertEqual(try company.store.streamVersion("activity-big"), 200)
        XCTAssertEqual(try company.store.streamVersion("customer-big"), 1, "the customer's own stream is only read")
        try await company.send("customer.forget", #"{"customerId": "big"}"#)
        await company.assertRule(
            "customer_forgotten", "call.log", #"{"customerId": "big", "direction": "inbound", "agentId": "maryam"}"#)
    }

    func testConcurrentDecisionsSeeEveryAcknowledgedWriteAndFoldAsTheLogDoes() async throws {
        let company = try Company(self)
        try await company.seed()
        let service = company.service
        let admin = CommandContext(actor: Actor(principal: "admin"))
        // Decisions run side by side on a shared state: each task's next command must still see
        // its own acknowledged register (a call on an unknown customer would be refused), and its
        // edit, pinned to the version the register returned, must find exactly that version.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<64 {
                group.addTask {
                    let agent = i.isMultiple(of: 2) ? "maryam" : "ali"
                    let registered = try await service.execute(
                        "customer.register",
                        try JSON.parse(
                            #"{"customerId": "k\#(i)", "kind": "person", "name": "مشتری \#(i)", "phones": ["0912 000 \#(1000 + i)"], "agentId": "\#(agent)"}"#
                        ),
                        context: admin)
                    _ = try await service.execute(
                        "call.log",
                        try JSON.parse(
                            #"{"customerId": "k\#(i)", "direction": "outbound", "text": "پیگیری \#(i)", "agentId": "\#(agent)"}"#
                        ), context: admin)
                    _ = try await service.execute(
                        "customer.edit", try JSON.parse(#"{"customerId": "k\#(i)", "tags": ["تماس‌گرفته"]}"#),
                        context: CommandContext(actor: Actor(principal: "admin"), expectedVersion: registered.version))
                }
            }
            try await group.waitForAll()
        }
        // The state folded from the events as decided equals the one a fresh service decodes from the log.
        let decided = try service.foldedState()
        let decoded = try CommandService(store: company.store, keys: company.keys).foldedState()
        XCTAssertEqual(decided.position, try company.store.head().position)
        XCTAssertEqual(decided.customersByAgent["maryam"]?.count, 32)
        XCTAssertEqual(decided.versions["customer-k7"], 2, "registered, then edited once")
        XCTAssertTrue(decided == decoded, "the state folded from decided events differs from the log's")
    }

    func testAgentLeaveReassignsEveryCustomerInTheSameCommit() async throws {
        let company = try Company(self)
        try await company.seed()
        for i in 1...5 { try await company.register("c\(i)", agent: "ali") }
        try await company.register("other", agent: "maryam")
        await company.assertRule("successor_required", "agent.leave", #"{"agentId": "ali"}"#)
        await company.assertRule("successor_inactive", "agent.leave", #"{"agentId": "ali", "successorId": "nobody"}"#)
        await company.assertRule("successor_is_leaving", "agent.leave", #"{"agentId": "ali", "successorId": "ali"}"#)

        let result = try await company.send("agent.leave", #"{"agentId": "ali", "successorId": "maryam"}"#, as: "sara")
        XCTAssertEqual(result.stream, "agent-ali")
        XCTAssertEqual(result.events, ["AgentLeft"] + Array(repeating: "CustomerAssigned", count: 5))
        XCTAssertEqual(Set(result.alsoWrote), Set((1...5).map { "customer-c\($0)" }))
        let commit = try company.log().suffix(6)
        XCTAssertEqual(Set(commit.map(\.recordedAt)).count, 1, "one commit")
        for i in 1...5 {
            XCTAssertEqual(
                try company.events("customer-c\(i)").last,
                .customerAssigned(
                    CustomerAssigned(customerId: "c\(i)", from: "ali", to: "maryam", reason: "agent_left")))
        }
        XCTAssertEqual(try company.events("customer-other").count, 1)
        try await company.send("agent.hire", #"{"agentId": "neda", "name": "ندا"}"#)
        await company.assertRule("successor_inactive", "agent.leave", #"{"agentId": "neda", "successorId": "ali"}"#)
        await company.assertRule("agent_outside_company", "agent.leave", #"{"agentId": "ali", "successorId": "neda"}"#)
        let rehire = await company.refusal("agent.hire", #"{"agentId": "ali", "name": "علی"}"#)
        XCTAssertEqual(rehire?.code, .conflict)
    }

    func testTargetsAreSetPerCompanyAgentOrBranchAndPeriod() async throws {
        let company = try Company(self)
        try await company.seed()
        let first = try await company.send(
            "target.set",
            #"{"period": "1405-01", "calendar": "persian", "scope": "agent", "scopeId": "maryam", "amount": {"amount": 10000000000, "currency": "IRR"}}"#,
            as: "sara")
        let second = try await company.send(
            "target.set",
            #"{"period": "1405-01", "calendar": "persian", "scope": "agent", "scopeId": "maryam", "amount": {"amount": 12000000000, "currency": "IRR"}}"#,
            as: "sara")
        XCTAssertEqual(
            first.stream, second.stream, "a new target for the same scope and period replaces the old one in order")
        XCTAssertEqual(second.version, 2)
        try await company.send(
            "target.set", #"{"period": "2026-Q1", "scope": "company", "amount": {"amount": 1, "currency": "IRR"}}"#)
        try await company.send(
            "target.set",
            #"{"period": "2026", "scope": "branch", "scopeId": "tehran", "amount": {"amount": 1, "currency": "IRR"}}"#)
        let missingScope = await company.refusal(
            "target.set", #"{"period": "2026", "scope": "agent", "amount": {"amount": 1, "currency": "IRR"}}"#)
        XCTAssertEqual(missingScope?.path, "/scopeId")
        let badPeriod = await company.refusal(
            "target.set", #"{"period": "2026-13", "scope": "company", "amount": {"amount": 1, "currency": "IRR"}}"#)
        XCTAssertEqual(badPeriod?.path, "/period")
        await company.assertRule(
            "agent_outside_company", "target.set",
            #"{"period": "2026", "scope": "agent", "scopeId": "ghost", "amount": {"amount": 1, "currency": "IRR"}}"#)
        await company.assertRule(
            "no_change", "product.reprice",
            #"{"productId": "toner", "unitPrice": {"amount": 12000000, "currency": "IRR"}}"#)
        try await company.send(
            "product.reprice", #"{"productId": "toner", "unitPrice": {"amount": 13000000, "currency": "IRR"}}"#)
        XCTAssertEqual(
            try company.events("product-toner").last,
            .productRepriced(
                ProductRepriced(
                    productId: "toner", from: Money(amount: 12_000_000, currency: "IRR"),
                    to: Money(amount: 13_000_000, currency: "IRR"))))
    }
}
