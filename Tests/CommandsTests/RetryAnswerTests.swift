import CRMTestSupport
import Commands
import Door
import Foundation
import JSONKit
import XCTest

/// A retried request gets its first answer back: the same stream, version, position, events and,
/// above all, the same id, whether the client chose it or crmd generated it.
final class RetryAnswerTests: XCTestCase {
    /// Every command that generates an id when the client sends none, with arguments that omit it.
    static let generating: [(op: String, args: String)] = [
        ("customer.register", #"{"name": "نرگس احمدی", "agentId": "maryam", "phones": ["0912 000 1111"]}"#),
        ("call.log", #"{"customerId": "reza", "direction": "inbound", "outcome": "interested"}"#),
        ("meeting.log", #"{"customerId": "reza", "text": "جلسه در دفتر"}"#),
        ("email.log", #"{"customerId": "reza", "direction": "outbound", "subject": "پیش‌فاکتور"}"#),
        ("sms.log", #"{"customerId": "reza", "text": "سلام"}"#),
        ("note.add", #"{"customerId": "reza", "text": "یادداشت"}"#),
        ("negotiation.log", #"{"customerId": "reza", "subject": "تخفیف", "outcome": "agreed"}"#),
        (
            "quote.give",
            #"{"customerId": "reza", "channel": "phone", "lines": [{"productId": "printer", "quantity": 1}]}"#
        ),
        ("proforma.issue", #"{"customerId": "reza", "lines": [{"productId": "toner", "quantity": 2}]}"#),
        (
            "invoice.issue",
            #"{"customerId": "reza", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-12-31T00:00:00Z"}"#
        ),
        ("payment.record", #"{"invoiceId": "inv1", "amount": 1000, "method": "cash"}"#),
        ("deal.open", #"{"customerId": "reza"}"#),
        ("followup.schedule", #"{"customerId": "reza", "due": "2026-12-20T09:00:00Z", "kind": "call"}"#),
        ("contract.support", #"{"customerId": "reza", "expiresOn": "2027-06-01"}"#),
        ("customer.contact.add", #"{"customerId": "pars", "name": "مدیر خرید"}"#),
        ("product.define", #"{"name": "اسکنر", "unitPrice": {"amount": 90000000, "currency": "IRR"}}"#),
        ("agent.hire", #"{"name": "زهرا کاظمی", "role": "agent"}"#),
        ("branch.open", #"{"name": "شعبه اصفهان", "region": "اصفهان"}"#),
        ("pipeline.define", #"{"stages": ["lead", "demo", "won", "lost"]}"#),
    ]

    func testARetryOfEveryIdGeneratingCommandGetsItsFirstAnswerBack() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("reza")
        try await company.send(
            "customer.register",
            #"{"customerId": "pars", "kind": "organisation", "name": "شرکت پارس", "agentId": "maryam"}"#)
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "inv1", "customerId": "reza", "agentId": "maryam", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-12-31T00:00:00Z"}"#
        )
        for (op, args) in RetryAnswerTests.generating {
            let first = try await company.send(op, args, as: "maryam", requestId: "retry-\(op)")
            let retry = try await company.send(op, args, as: "maryam", requestId: "retry-\(op)")
            XCTAssertFalse(first.duplicate, op)
            XCTAssertTrue(retry.duplicate, op)
            var answer = retry
            answer.duplicate = false
            XCTAssertEqual(answer, first, "\(op): a retry answers as the first request did")
        }
    }
}
