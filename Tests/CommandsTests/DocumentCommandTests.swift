import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import XCTest

final class DocumentCommandTests: XCTestCase {
    func testAQuoteTakesCatalogueAndGivenPricesAndTotalsThem() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        let result = try await company.send(
            "quote.give",
            #"""
            {"quoteId": "q1", "customerId": "c1", "channel": "phone", "validUntil": "2026-12-31T23:59:59+03:30",
             "lines": [{"productId": "printer", "quantity": 2}, {"productId": "toner", "quantity": 10, "unitPrice": {"amount": 11000000, "currency": "IRR"}}],
             "note": "تخفیف ویژه برای خرید عمده"}
            """#, as: "maryam")
        XCTAssertEqual(result.stream, "quote-q1")
        guard case .quoteGiven(let quote) = try company.events("quote-q1")[0] else { return XCTFail() }
        XCTAssertEqual(quote.lines.map(\.unitPrice.amount), [250_000_000, 11_000_000])
        XCTAssertEqual(quote.total, 2 * 250_000_000 + 10 * 11_000_000)
        XCTAssertEqual(quote.currency, "IRR")
        XCTAssertEqual(quote.agentId, "maryam")
        XCTAssertEqual(try company.key("c1")?.open(quote.note!), "تخفیف ویژه برای خرید عمده")
    }

    func testRetiredUnknownAndMixedCurrencyLinesAreRefused() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "product.define",
            #"{"productId": "old", "name": "مدل قدیمی", "unitPrice": {"amount": 5, "currency": "IRR"}}"#)
        try await company.send("product.retire", #"{"productId": "old"}"#)
        await company.assertRule(
            "product_retired", "quote.give",
            #"{"customerId": "c1", "channel": "phone", "lines": [{"productId": "old", "quantity": 1}]}"#, as: "maryam")
        await company.assertRule(
            "product_retired", "invoice.issue",
            #"{"customerId": "c1", "dueAt": "2026-12-01T00:00:00Z", "lines": [{"productId": "toner", "quantity": 1}, {"productId": "old", "quantity": 1}]}"#,
            as: "maryam")
        await company.assertRule(
            "product_unknown", "quote.give",
            #"{"customerId": "c1", "channel": "email", "lines": [{"productId": "nothing", "quantity": 1}]}"#,
            as: "maryam")
        await company.assertRule(
            "mixed_currencies", "quote.give",
            #"{"customerId": "c1", "channel": "email", "lines": [{"productId": "toner", "quantity": 1}, {"productId": "printer", "quantity": 1, "unitPrice": {"amount": 300, "currency": "EUR"}}]}"#,
            as: "maryam")
        await company.assertRule(
            "mixed_currencies", "quote.give",
            #"{"customerId": "c1", "channel": "email", "currency": "USD", "lines": [{"productId": "toner", "quantity": 1}]}"#,
            as: "maryam")
        let madeUp = await company.refusal(
            "quote.give",
            #"{"customerId": "c1", "channel": "email", "currency": "TMN", "lines": [{"productId": "toner", "quantity": 1}]}"#,
            as: "maryam")
        XCTAssertEqual(madeUp?.path, "/currency")
        XCTAssertEqual(madeUp?.message, "/currency: must be an ISO 4217 currency code such as IRR or EUR")
        await company.assertRule(
            "product_retired", "product.reprice",
            #"{"productId": "old", "unitPrice": {"amount": 6, "currency": "IRR"}}"#)
    }

    func testTotalsThatWouldOverflowAreRefused() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        let huge = SchemaDefinitions.maxAmount
        await company.assertRule(
            "amount_too_large", "quote.give",
            #"{"customerId": "c1", "channel": "phone", "lines": [{"productId": "toner", "quantity": 1000000000, "unitPrice": {"amount": \#(huge), "currency": "IRR"}}]}"#,
            as: "maryam")
        await company.assertRule(
            "amount_too_large", "quote.give",
            #"{"customerId": "c1", "channel": "phone", "lines": [{"productId": "toner", "quantity": 1, "unitPrice": {"amount": \#(huge), "currency": "IRR"}}, {"productId": "toner", "quantity": 1}]}"#,
            as: "maryam")
        let beyond = await company.refusal(
            "quote.give",
            #"{"customerId": "c1", "channel": "phone", "lines": [{"productId": "toner", "quantity": 1, "unitPrice": {"amount": 9007199254740992, "currency": "IRR"}}]}"#,
            as: "maryam")
        XCTAssertEqual(beyond?.path, "/lines/0/unitPrice/amount")
    }

    func testPaymentsNeverExceedTheOpenBalance() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "toner", "quantity": 10}], "dueAt": "2026-12-15T00:00:00+03:30"}"#,
            as: "maryam")
        try await company.send(
            "payment.record",
            #"{"invoiceId": "i1", "amount": 100000000, "method": "transfer", "reference": "پیگیری ۱۲۳"}"#)
        await company.assertRule(
            "overpayment", "payment.record", #"{"invoiceId": "i1", "amount": 20000001, "method": "cash"}"#)
        await company.assertRule(
            "mixed_currencies", "payment.record",
            #"{"invoiceId": "i1", "amount": 1, "currency": "EUR", "method": "cash"}"#)
        let last = try await company.send(
            "payment.record", #"{"invoiceId": "i1", "amount": 20000000, "method": "cash"}"#)
        XCTAssertEqual(last.version, 3)
        guard case .paymentRecorded(let payment) = try company.events("invoice-i1").last else { return XCTFail() }
        XCTAssertEqual(payment.balance, 0)
        await company.assertRule(
            "overpayment", "payment.record", #"{"invoiceId": "i1", "amount": 1, "method": "cash"}"#)
        await company.assertRule("invoice_has_payments", "invoice.void", #"{"invoiceId": "i1"}"#)
    }

    func testConcurrentPaymentsThatTogetherOverpayLetOnlyOneThrough() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-12-15T00:00:00Z"}"#,
            as: "maryam")
        let service = company.service
        let outcomes = await withTaskGroup(of: String.self) { group in
            for i in 0..<8 {
                group.addTask {
                    do {
                        _ = try await service.execute(
                            "payment.record",
                            .object([
                                "invoiceId": "i1", "amount": 7_000_000, "method": "cash", "paymentId": .string("p\(i)"),
                            ]))
                        return "ok"
                    } catch let error as WireError {
                        return error.rule ?? "\(error)"
                    } catch {
                        return "\(error)"
                    }
                }
            }
            return await group.reduce(into: [String]()) { $0.append($1) }
        }
        XCTAssertEqual(outcomes.filter { $0 == "ok" }.count, 1, "\(outcomes)")
        XCTAssertEqual(outcomes.filter { $0 == "overpayment" }.count, 7, "\(outcomes)")
    }

    func testVoidIsANewFactAndAVoidInvoiceTakesNoPayment() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "quote.give",
            #"{"quoteId": "q1", "customerId": "c1", "channel": "in_person", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            as: "maryam")
        try await company.send(
            "proforma.issue",
            #"{"proformaId": "f1", "customerId": "c1", "basedOn": "q1", "lines": [{"productId": "printer", "quantity": 1}]}"#,
            as: "maryam")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "basedOn": "f1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-12-15T00:00:00Z"}"#,
            as: "maryam")
        try await company.send("invoice.void", #"{"invoiceId": "i1", "reason": "صدور اشتباه"}"#, as: "sara")
        await company.assertRule("invoice_already_void", "invoice.void", #"{"invoiceId": "i1"}"#)
        await company.assertRule(
            "invoice_void", "payment.record", #"{"invoiceId": "i1", "amount": 1, "method": "card"}"#)
        XCTAssertEqual(try company.events("invoice-i1").map(\.eventType), ["InvoiceIssued", "InvoiceVoided"])
        try await company.register("c2")
        await company.assertRule(
            "document_of_another_customer", "invoice.issue",
            #"{"customerId": "c2", "basedOn": "q1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2026-12-15T00:00:00Z"}"#,
            as: "maryam")
    }

    func testAPaymentRetriedAfterTheBalanceIsGoneReturnsTheFirstResult() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-12-15T00:00:00Z"}"#,
            as: "maryam")
        let first = try await company.send(
            "payment.record", #"{"invoiceId": "i1", "amount": 12000000, "method": "cash"}"#, requestId: "pay-once")
        let retry = try await company.send(
            "payment.record", #"{"invoiceId": "i1", "amount": 12000000, "method": "cash"}"#, requestId: "pay-once")
        XCTAssertTrue(retry.duplicate)
        XCTAssertEqual(retry.position, first.position)
        XCTAssertEqual(retry.events, ["PaymentRecorded"])
        XCTAssertEqual(try company.events("invoice-i1").count, 2)
    }
}
