import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import Projections
import XCTest

final class CustomerFileTests: XCTestCase {
    func testTheFileGathersEverythingAboutTheCustomer() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.send(
            "customer.register",
            #"{"customerId": "pars", "kind": "organisation", "name": "شرکت پارس‌پخش", "phones": ["071 3222 1100"], "agentId": "maryam", "branchId": "tehran", "source": {"channel": "exhibition", "campaign": "نمایشگاه ۱۴۰۴"}}"#
        )
        try await company.send(
            "customer.contact.add",
            #"{"customerId": "pars", "contactId": "ceo", "name": "مهندس کاظمی", "role": "مدیرعامل"}"#, as: "maryam")
        try await company.send(
            "customer.competitor.note", #"{"customerId": "pars", "competitor": "نوآوران", "offer": "نصب رایگان"}"#,
            as: "maryam")
        try await company.send(
            "call.log",
            #"{"customerId": "pars", "direction": "inbound", "at": "2026-03-01T10:00:00+03:30", "outcome": "interested", "text": "قیمت چاپگر"}"#,
            as: "maryam")
        try await company.send(
            "meeting.log",
            #"{"customerId": "pars", "contactId": "ceo", "at": "2026-03-05T11:00:00+03:30", "outcome": "order"}"#,
            as: "ali")
        try await company.send(
            "note.add", #"{"customerId": "pars", "at": "2026-03-06T09:00:00+03:30", "text": "یادداشت داخلی"}"#,
            as: "maryam")
        try await company.send(
            "quote.give",
            #"{"quoteId": "q1", "customerId": "pars", "channel": "phone", "lines": [{"productId": "printer", "quantity": 2}]}"#,
            as: "maryam")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "pars", "basedOn": "q1", "lines": [{"productId": "printer", "quantity": 2}, {"productId": "toner", "quantity": 5, "unitPrice": {"amount": 11000000, "currency": "IRR"}}], "dueAt": "2026-04-01T00:00:00Z"}"#,
            as: "maryam")
        try await company.send("payment.record", #"{"invoiceId": "i1", "amount": 200000000, "method": "transfer"}"#)
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i2", "customerId": "pars", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-04-01T00:00:00Z"}"#,
            as: "maryam")
        try await company.send("invoice.void", #"{"invoiceId": "i2"}"#)
        try await company.send("deal.open", #"{"dealId": "d1", "customerId": "pars"}"#, as: "maryam")
        try await company.send("deal.move", #"{"dealId": "d1", "stage": "proposal"}"#, as: "maryam")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "f1", "customerId": "pars", "due": "2026-04-02T10:00:00Z", "kind": "payment"}"#,
            as: "maryam")
        try await company.send(
            "followup.schedule",
            #"{"followupId": "f2", "customerId": "pars", "due": "2026-03-20T10:00:00Z", "kind": "call"}"#, as: "maryam")
        try await company.send(
            "contract.support",
            #"{"contractId": "k1", "customerId": "pars", "productId": "printer", "startsOn": "2026-04-01", "expiresOn": "2027-04-01"}"#,
            as: "maryam")
        try await company.register("other")

        let projector = try company.projector()
        try projector.catchUp()
        let file = try CustomerQueries(projector: projector, keys: company.keys).get("pars").json
        XCTAssertEqual(file["name"], "شرکت پارس‌پخش")
        XCTAssertEqual(file["phones"], .array(["071 3222 1100"]))
        XCTAssertEqual(file["source"]?["campaign"], "نمایشگاه ۱۴۰۴")
        XCTAssertEqual(file["agentId"], "maryam")
        XCTAssertEqual(file["contacts"]?.arrayValue?.first?["name"], "مهندس کاظمی")
        XCTAssertEqual(file["competitors"]?.arrayValue?.first?["offer"], "نصب رایگان")
        XCTAssertEqual(file["interactions"]?.arrayValue?.count, 3)
        XCTAssertEqual(
            file["lastContact"],
            .object(["at": "2026-03-05T07:30:00.000000Z", "kind": "meeting", "agentId": "ali", "outcome": "order"]),
            "the last contact is the latest call, meeting, email or SMS by business time; notes are not contact")
        XCTAssertEqual(
            file["quotes"]?.arrayValue?.first?["total"], .object(["amount": 500_000_000, "currency": "IRR"]))
        let invoices = try XCTUnwrap(file["invoices"]?.arrayValue)
        XCTAssertEqual(invoices[0]["total"], .int(2 * 250_000_000 + 5 * 11_000_000))
        XCTAssertEqual(invoices[0]["open"], .int(555_000_000 - 200_000_000))
        XCTAssertEqual(invoices[1]["void"], true)
        XCTAssertEqual(file["openBalance"], .object(["IRR": .int(355_000_000)]), "void invoices owe nothing")
        XCTAssertEqual(
            file["productsBought"],
            .array([
                .object([
                    "productId": "printer", "quantity": 2,
                    "prices": .array([
                        .object([
                            "invoiceId": "i1", "at": invoices[0]["issuedAt"]!, "quantity": 2,
                            "unitPrice": .object(["amount": 250_000_000, "currency": "IRR"]),
                        ])
                    ]),
                ]),
                .object([
                    "productId": "toner", "quantity": 5,
                    "prices": .array([
                        .object([
                            "invoiceId": "i1", "at": invoices[0]["issuedAt"]!, "quantity": 5,
                            "unitPrice": .object(["amount": 11_000_000, "currency": "IRR"]),
                        ])
                    ]),
                ]),
            ]), "products bought come from invoices that stand, with the price paid")
        XCTAssertEqual(file["deals"]?.arrayValue?.first?["stage"], "proposal")
        XCTAssertEqual(file["nextFollowup"]?["followupId"], "f2", "the earliest due follow-up is next")
        XCTAssertEqual(file["contracts"]?.arrayValue?.first?["expiresOn"], "2027-04-01")
        XCTAssertEqual(
            file["timeline"]?.arrayValue?.count, try CustomerEventReader(projector: projector).events(of: "pars").count)
        XCTAssertEqual(file["erased"], false)
    }

    func testAsOfShowsTheFileExactlyAsTheLogKnewItThen() async throws {
        let clock = TestClock("2026-03-01T08:00:00Z")
        let company = try Company(self, clock: clock.read)
        try await company.seed()
        try await company.register("c1", name: "رضا")
        clock.set("2026-03-03T09:00:00Z")
        try await company.send(
            "customer.edit", #"{"customerId": "c1", "name": "رضا رضازاده", "tags": ["VIP"]}"#, as: "maryam")
        clock.set("2026-03-05T09:00:00Z")
        try await company.send("customer.assign", #"{"customerId": "c1", "agentId": "ali"}"#, as: "sara")
        let projector = try company.projector()
        try projector.catchUp()
        let queries = CustomerQueries(projector: projector, keys: company.keys)

        let march2 = try queries.get("c1", asOf: Timestamp(rfc3339: "2026-03-02T00:00:00Z")!).json
        XCTAssertEqual(march2["name"], "رضا")
        XCTAssertEqual(march2["agentId"], "maryam")
        let march4 = try queries.get("c1", asOf: Timestamp(rfc3339: "2026-03-04T00:00:00Z")!).json
        XCTAssertEqual(march4["name"], "رضا رضازاده")
        XCTAssertEqual(march4["tags"], .array(["VIP"]))
        XCTAssertEqual(march4["agentId"], "maryam")
        XCTAssertEqual(try queries.get("c1").json["agentId"], "ali")
        XCTAssertThrowsError(try queries.get("c1", asOf: Timestamp(rfc3339: "2026-02-01T00:00:00Z")!)) { error in
            XCTAssertEqual((error as? WireError)?.code, .notFound, "before registration there was no file")
        }

        let history = try queries.history("c1", field: "name")
        XCTAssertEqual(
            history.map { [$0["by"], $0["old"], $0["new"]] },
            [["admin", .null, "رضا"], ["maryam", "رضا", "رضا رضازاده"]])
        XCTAssertEqual(history.last?["at"], "2026-03-03T09:00:00.000000Z")
        XCTAssertEqual(try queries.history("c1", field: "agentId").map { $0["new"] }, ["maryam", "ali"])
    }

    func testAsOfAtManyTimesEqualsFoldingTheLogUpToThatTime() async throws {
        let clock = TestClock("2026-01-01T00:00:00Z")
        let company = try Company(self, clock: clock.read)
        try await company.seed()
        var rng = SystemRandomNumberGenerator()
        for i in 1...6 { try await company.register("c\(i)") }
        for step in 0..<120 {
            clock.advance(Int64.random(in: 60...86_400, using: &rng))
            let customer = "c\(Int.random(in: 1...6, using: &rng))"
            switch step % 4 {
            case 0:
                try await company.send(
                    "note.add", #"{"customerId": "\#(customer)", "text": "یادداشت \#(step)"}"#, as: "maryam")
            case 1: try await company.send("customer.edit", #"{"customerId": "\#(customer)", "tags": ["t\#(step)"]}"#)
            case 2:
                try await company.send(
                    "invoice.issue",
                    #"{"customerId": "\#(customer)", "lines": [{"productId": "toner", "quantity": \#(step)}], "dueAt": "2026-12-01T00:00:00Z"}"#,
                    as: "ali")
            default:
                try await company.send(
                    "call.log", #"{"customerId": "\#(customer)", "direction": "outbound", "outcome": "o\#(step)"}"#,
                    as: "ali")
            }
        }
        let projector = try company.projector()
        try projector.catchUp()
        let queries = CustomerQueries(projector: projector, keys: company.keys)
        let log = try company.log()
        let start = log.first!.recordedAt.microsecondsSince1970
        let end = log.last!.recordedAt.microsecondsSince1970
        for _ in 0..<60 {
            let time = Timestamp(microsecondsSince1970: Int64.random(in: start...end, using: &rng))
            let customer = "c\(Int.random(in: 1...6, using: &rng))"
            let known = try log.filter { $0.recordedAt <= time }.map { try ProjectedEvent($0) }.filter {
                $0.event?.customerId == customer
            }
            let expected = CustomerFile.fold(known, key: try company.key(customer)).json
            if known.isEmpty { continue }
            XCTAssertEqual(try queries.get(customer, asOf: time).json, expected, "\(customer) as of \(time)")
        }
    }

    func testAForgottenCustomerIsErasedInTheFileButTheFiguresRemain() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "toner", "quantity": 2}], "dueAt": "2026-12-01T00:00:00Z"}"#,
            as: "maryam")
        try await company.send("note.add", #"{"customerId": "c1", "text": "محرمانه"}"#, as: "maryam")
        try await company.send("customer.forget", #"{"customerId": "c1"}"#)
        let projector = try company.projector()
        try projector.catchUp()
        let queries = CustomerQueries(projector: projector, keys: company.keys)
        let file = try queries.get("c1").json
        XCTAssertEqual(file["erased"], true)
        XCTAssertEqual(file["forgotten"], true)
        XCTAssertEqual(file["name"], .null)
        XCTAssertEqual(file["phones"], .null)
        XCTAssertEqual(file["interactions"]?.arrayValue?.first?["text"], .null)
        XCTAssertEqual(file["openBalance"], .object(["IRR": 24_000_000]), "amounts are not personal data")
        let asOfBefore = try queries.get("c1", asOf: company.log()[6].recordedAt).json
        XCTAssertEqual(asOfBefore["name"], .null, "the past is erased too: the key is gone")
        let history = try queries.history("c1")
        XCTAssertEqual(history.last?["field"], "erased")
        XCTAssertFalse(
            history.contains {
                ["name", "phones", "emails", "address", "birthday"].contains($0["field"]?.stringValue ?? "")
            },
            "no personal value is left to show")
        XCTAssertFalse(JSON.array(history).serialized().contains("رضا"))
    }
}
