import CRMEvents
import CRMTestSupport
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import Projections
import XCTest

/// The customer file on two timelines: as the log knew it at a recorded time T (`asOf`), as
/// things stood at a business time D (`at`), and both ("what did we believe on T about D").
final class TwoTimelinesTests: XCTestCase {
    /// What the test expects of the file: the fields it changes and what it counts.
    struct Expected: Equatable {
        var exists = false
        var name: String?
        var phones: [String] = []
        var agentId: String?
        var invoices: [String] = []
        var interactions = 0
    }

    /// One command of the history: when the log recorded it, when it happened, what it sent and
    /// what it does to the expected file.
    struct Step {
        let recorded: String
        let at: String
        let op: String
        let args: String
        let change: (inout Expected) -> Void
    }

    let steps: [Step] = [
        Step(
            recorded: "2026-03-01T08:00:00Z", at: "2025-01-10T09:00:00Z", op: "customer.register",
            args: #"{"customerId": "c1", "kind": "organisation", "name": "شرکت پارس", "phones": ["021 1111 0000"], "agentId": "maryam"}"#
        ) {
            $0.exists = true
            $0.name = "شرکت پارس"
            $0.phones = ["021 1111 0000"]
            $0.agentId = "maryam"
        },
        Step(
            recorded: "2026-03-01T08:05:00Z", at: "2025-06-01T09:00:00Z", op: "customer.edit",
            args: #"{"customerId": "c1", "phones": ["021 2222 0000"]}"#
        ) { $0.phones = ["021 2222 0000"] },
        // Learnt later: the number had already changed once, in March.
        Step(
            recorded: "2026-03-10T08:00:00Z", at: "2025-03-01T09:00:00Z", op: "customer.edit",
            args: #"{"customerId": "c1", "phones": ["021 3333 0000"]}"#
        ) { $0.phones = ["021 3333 0000"] },
        Step(
            recorded: "2026-03-10T08:05:00Z", at: "2025-09-01T09:00:00Z", op: "customer.assign",
            args: #"{"customerId": "c1", "agentId": "ali"}"#
        ) { $0.agentId = "ali" },
        Step(
            recorded: "2026-03-20T08:00:00Z", at: "2025-05-01T09:00:00Z", op: "invoice.issue",
            args: #"{"invoiceId": "i1", "customerId": "c1", "agentId": "maryam", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2025-06-01T00:00:00Z"}"#
        ) { $0.invoices.append("i1") },
        Step(
            recorded: "2026-03-20T08:05:00Z", at: "2026-03-20T08:05:00Z", op: "customer.edit",
            args: #"{"customerId": "c1", "name": "پارس‌پخش"}"#
        ) { $0.name = "پارس‌پخش" },
        Step(
            recorded: "2026-03-25T08:00:00Z", at: "2025-12-01T09:00:00Z", op: "invoice.issue",
            args: #"{"invoiceId": "i2", "customerId": "c1", "agentId": "ali", "lines": [{"productId": "toner", "quantity": 3}], "dueAt": "2026-01-01T00:00:00Z"}"#
        ) { $0.invoices.append("i2") },
        Step(
            recorded: "2026-03-25T08:05:00Z", at: "2025-02-01T09:00:00Z", op: "call.log",
            args: #"{"customerId": "c1", "agentId": "maryam", "direction": "inbound", "text": "اولین تماس"}"#
        ) { $0.interactions += 1 },
    ]

    /// The file the test expects at (D, T): the steps recorded by T that happened by D, in the
    /// order they happened.
    func expected(at business: Timestamp?, asOf recorded: Timestamp?) -> Expected {
        var file = Expected()
        let known = steps.enumerated().filter { step in
            (recorded.map { Timestamp(rfc3339: step.element.recorded)! <= $0 } ?? true)
                && (business.map { Timestamp(rfc3339: step.element.at)! <= $0 } ?? true)
        }
        let ordered =
            business == nil
            ? known
            : known.sorted {
                (Timestamp(rfc3339: $0.element.at)!, $0.offset) < (Timestamp(rfc3339: $1.element.at)!, $1.offset)
            }
        for step in ordered { step.element.change(&file) }
        return file
    }

    /// The same properties read off a customer file answered by crmd.
    func observed(_ file: JSON) -> Expected {
        Expected(
            exists: true, name: file["name"]?.stringValue,
            phones: file["phones"]?.arrayValue?.compactMap(\.stringValue) ?? [],
            agentId: file["agentId"]?.stringValue,
            invoices: file["invoices"]?.arrayValue?.compactMap { $0["invoiceId"]?.stringValue } ?? [],
            interactions: file["interactions"]?.arrayValue?.count ?? 0)
    }

    func testTheFileAtEveryBusinessDateAsOfEveryRecordedTimeEqualsTheFoldOfWhatWasKnown() async throws {
        let clock = TestClock("2026-02-01T08:00:00Z")
        let company = try Company(self, clock: clock.read)
        clock.set("2024-12-01T08:00:00Z")
        try await company.seed()
        for step in steps {
            clock.set(step.recorded)
            guard case .object(var members) = try JSON.parse(step.args) else { return XCTFail() }
            members["at"] = .string(step.at)
            try await company.send(step.op, JSON.object(members).serialized())
        }
        clock.set("2026-04-01T08:00:00Z")
        let projector = try company.projector()
        try projector.catchUp()
        let customers = CustomerQueries(projector: projector, keys: company.keys)

        let businessDates: [String?] = [
            nil, "2025-01-09T00:00:00Z", "2025-01-10T09:00:00Z", "2025-02-15T00:00:00Z", "2025-04-01T00:00:00Z",
            "2025-05-15T00:00:00Z", "2025-07-01T00:00:00Z", "2025-10-01T00:00:00Z", "2025-12-31T00:00:00Z",
            "2026-03-31T00:00:00Z",
        ]
        let recordedTimes: [String?] = [
            nil, "2026-02-28T00:00:00Z", "2026-03-01T08:00:00Z", "2026-03-05T00:00:00Z", "2026-03-15T00:00:00Z",
            "2026-03-22T00:00:00Z", "2026-03-31T00:00:00Z",
        ]
        var compared = 0
        var distinct = Set<String>()
        for d in businessDates {
            for t in recordedTimes {
                let at = d.flatMap(Timestamp.init(rfc3339:))
                let asOf = t.flatMap(Timestamp.init(rfc3339:))
                let want = expected(at: at, asOf: asOf)
                let label = "at \(d ?? "now") as of \(t ?? "now")"
                if want.exists {
                    let file = try customers.get("c1", asOf: asOf, at: at).json
                    XCTAssertEqual(observed(file), want, label)
                    distinct.insert("\(want)")
                } else {
                    XCTAssertThrowsError(try customers.get("c1", asOf: asOf, at: at), label) { error in
                        XCTAssertEqual((error as? WireError)?.code, .notFound, label)
                    }
                }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 70)
        XCTAssertGreaterThan(distinct.count, 12, "the grid sees many different files")

        // The point of two timelines: on 5 March we believed the phone in April 2025 was the
        // first number; since 10 March we know it had changed on 1 March 2025.
        let april = Timestamp(rfc3339: "2025-04-01T00:00:00Z")
        XCTAssertEqual(
            try customers.get("c1", asOf: Timestamp(rfc3339: "2026-03-05T00:00:00Z"), at: april).json["phones"],
            .array(["021 1111 0000"]))
        XCTAssertEqual(try customers.get("c1", at: april).json["phones"], .array(["021 3333 0000"]))

        // Through the query: a bare date means the end of that day; both times are echoed.
        let queries = try CRMQueries(projector: projector, keys: company.keys, clock: clock.read)
        let byDate = try queries.run(
            "customer.get", try JSON.parse(#"{"customerId": "c1", "at": "2025-05-01", "asOf": "2026-03-20"}"#))
        XCTAssertEqual(byDate["invoices"]?.arrayValue?.count, 1, "i1 happened on 1 May and was known on 20 March")
        XCTAssertEqual(byDate["at"], "2025-05-01T23:59:59.999999Z")
        XCTAssertEqual(byDate["asOf"], "2026-03-20T23:59:59.999999Z")
        XCTAssertEqual(byDate["phones"], .array(["021 3333 0000"]))
        let none = try? queries.run("customer.get", try JSON.parse(#"{"customerId": "c1", "at": "2025-01-09"}"#))
        XCTAssertNil(none, "before registration there was no customer")

        // The history shows both times for every change.
        let changes = try queries.run("customer.history", try JSON.parse(#"{"customerId": "c1", "field": "phones"}"#))
        let times = changes["changes"]?.arrayValue?.map { [$0["at"]?.stringValue, $0["recordedAt"]?.stringValue] }
        XCTAssertEqual(
            times,
            [
                ["2025-01-10T09:00:00.000000Z", "2026-03-01T08:00:00.000000Z"],
                ["2025-06-01T09:00:00.000000Z", "2026-03-01T08:05:00.000000Z"],
                ["2025-03-01T09:00:00.000000Z", "2026-03-10T08:00:00.000000Z"],
            ])
    }

    func testBackDatedInvoicesFallInTheirPersianMonthAndDormancyGoesByBusinessTime() async throws {
        let clock = TestClock("2026-01-01T08:00:00Z")
        let company = try Company(self, clock: clock.read)
        try await company.seed()
        try await company.register("c1")
        try await company.register("c2", agent: "ali")
        clock.set("2026-06-01T08:00:00Z")
        for (id, at) in [("i1", "2026-03-19T10:00:00Z"), ("i2", "2026-03-25T10:00:00Z"), ("i3", "2026-04-02T10:00:00Z")] {
            try await company.send(
                "invoice.issue",
                #"{"invoiceId": "\#(id)", "customerId": "c1", "at": "\#(at)", "lines": [{"productId": "toner", "quantity": 1}], "dueAt": "2026-05-01T00:00:00Z"}"#,
                as: "maryam")
        }
        try await company.send(
            "call.log", #"{"customerId": "c1", "direction": "inbound", "at": "2026-02-01T10:00:00Z"}"#, as: "maryam")
        try await company.send(
            "call.log", #"{"customerId": "c2", "direction": "inbound", "at": "2026-05-20T10:00:00Z"}"#, as: "ali")
        let projector = try company.projector()
        try projector.catchUp()
        let queries = try CRMQueries(projector: projector, keys: company.keys, clock: clock.read)

        let persian = try queries.run(
            "report.sales",
            try JSON.parse(
                #"{"from": "2026-03-01T00:00:00Z", "to": "2026-05-01T00:00:00Z", "groupBy": ["month"], "calendar": "persian"}"#
            ))
        XCTAssertEqual(
            persian["rows"]?.arrayValue?.map { [$0["group"]?["month"], $0["count"]] },
            [["1404-12", 1], ["1405-01", 2]], "25 March and 2 April 2026 are both Farvardin 1405")
        let gregorian = try queries.run(
            "report.sales",
            try JSON.parse(#"{"from": "2026-03-01T00:00:00Z", "to": "2026-05-01T00:00:00Z", "groupBy": ["month"]}"#))
        XCTAssertEqual(
            gregorian["rows"]?.arrayValue?.map { [$0["group"]?["month"], $0["count"]] },
            [["2026-03", 2], ["2026-04", 1]])
        let june = try queries.run(
            "report.sales", try JSON.parse(#"{"from": "2026-06-01T00:00:00Z", "to": "2026-07-01T00:00:00Z"}"#))
        XCTAssertEqual(june["rows"]?.arrayValue?.count ?? 0, 0, "nothing was sold in June, the month they were recorded")

        let dormant = try queries.run("report.dormant", try JSON.parse(#"{"days": 90}"#))
        let ids = dormant["customers"]?.arrayValue?.compactMap { $0["customerId"]?.stringValue }
        XCTAssertEqual(ids, ["c1"], "c1 was last spoken to on 1 February, c2 on 20 May")
    }
}
