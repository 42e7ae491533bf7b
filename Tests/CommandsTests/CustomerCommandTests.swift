import CRMEvents
import CRMTestSupport
import Commands
import EventStore
import Foundation
import JSONKit
import XCTest

final class CustomerCommandTests: XCTestCase {
    func testRegisterSealsPersonalDataUnderTheCustomersKey() async throws {
        let company = try Company(self)
        try await company.seed()
        let result = try await company.register("c1")
        XCTAssertEqual(result.stream, "customer-c1")
        XCTAssertEqual(result.version, 1)
        XCTAssertEqual(result.events, ["CustomerRegistered"])

        guard case .customerRegistered(let event) = try company.events("customer-c1")[0] else { return XCTFail() }
        let key = try XCTUnwrap(company.key("c1"))
        XCTAssertEqual(key.open(event.name), "رضا\u{200C}زاده")
        XCTAssertEqual(event.phones.compactMap(key.open), ["+98 912 345 6789"])
        XCTAssertEqual(event.address.flatMap(key.open), "تهران، خیابان ولیعصر")
        XCTAssertEqual(event.source?.campaign, "نوروز ۱۴۰۵")
        XCTAssertEqual(event.source?.referrer.flatMap(key.open), "خانم احمدی")
        XCTAssertEqual(event.tags, ["VIP", "عمده"])
        XCTAssertEqual(event.agentId, "maryam")
        XCTAssertNil(try company.key("c2"), "keys exist only for registered customers")
    }

    func testRegisterGeneratesAnIDWhenNoneIsGiven() async throws {
        let company = try Company(self)
        try await company.seed()
        let result = try await company.send(
            "customer.register", #"{"name": "شرکت آلفا", "kind": "organisation", "agentId": "ali"}"#)
        XCTAssertTrue(result.id.hasPrefix("c-"))
        XCTAssertEqual(result.stream, "customer-\(result.id)")
    }

    func testInvalidArgumentsNameTheFieldAtFault() async throws {
        let company = try Company(self)
        try await company.seed()
        let cases: [(String, String)] = [
            (#"{"agentId": "maryam"}"#, "/name"),
            (#"{"name": "x", "agentId": "maryam", "phones": ["+98 912", "call me"]}"#, "/phones/1"),
            (#"{"name": "x", "agentId": "maryam", "emails": ["no-at-sign"]}"#, "/emails/0"),
            (#"{"name": "x", "agentId": "maryam", "favouriteColour": "blue"}"#, "/favouriteColour"),
            (#"{"name": "", "agentId": "maryam"}"#, "/name"),
            (#"{"name": "x", "agentId": "has space"}"#, "/agentId"),
            (#"{"name": "x", "agentId": "maryam", "birthday": "1990-02-30"}"#, "/birthday"),
            (#"{"name": "x", "agentId": "maryam", "source": {"campaign": "no channel"}}"#, "/source/channel"),
        ]
        for (args, path) in cases {
            let error = await company.refusal("customer.register", args)
            XCTAssertEqual(error?.code, .invalidArgs, args)
            XCTAssertEqual(error?.path, path, args)
        }
        let unknown = await company.refusal("customer.explode", "{}")
        XCTAssertEqual(unknown?.code, .unknownOp)
        XCTAssertEqual(try company.log().count, 6, "refused commands write nothing")
    }

    func testAnAgentOutsideTheCompanyCannotBeGivenCustomers() async throws {
        let company = try Company(self)
        try await company.seed()
        await company.assertRule("agent_outside_company", "customer.register", #"{"name": "x", "agentId": "stranger"}"#)
        try await company.send("agent.leave", #"{"agentId": "ali", "successorId": "maryam"}"#)
        await company.assertRule("agent_outside_company", "customer.register", #"{"name": "x", "agentId": "ali"}"#)
        await company.assertRule("agent_outside_company", "customer.register", #"{"name": "x"}"#, as: "ali")
        let result = try await company.send("customer.register", #"{"name": "x"}"#, as: "maryam")
        guard case .customerRegistered(let event) = try company.events(result.stream)[0] else { return XCTFail() }
        XCTAssertEqual(event.agentId, "maryam", "an agent registering a customer serves them")
    }

    func testEditWritesOneEventPerChangedFieldWithOldAndNewValue() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        let result = try await company.send(
            "customer.edit",
            #"""
            {"customerId": "c1", "name": "رضا رضازاده", "phones": ["+98 912 345 6789", "021 8888 7777"],
             "tags": ["VIP", "عمده"], "address": null}
            """#, as: "maryam")
        XCTAssertEqual(
            result.events, ["CustomerFieldEdited", "CustomerFieldEdited", "CustomerFieldEdited"], "tags did not change")
        let key = try XCTUnwrap(company.key("c1"))
        let edits = try company.events("customer-c1").compactMap { event -> CustomerFieldEdited? in
            if case .customerFieldEdited(let e) = event { return e } else { return nil }
        }
        XCTAssertEqual(edits.map(\.field), ["name", "phones", "address"])
        func open(_ value: JSON?) -> JSON? {
            value?.stringValue.flatMap { key.open(Sealed(text: $0)) }.flatMap { try? JSON.parse($0) }
        }
        XCTAssertEqual(open(edits[0].old), .string("رضا\u{200C}زاده"))
        XCTAssertEqual(open(edits[0].new), .string("رضا رضازاده"))
        XCTAssertEqual(open(edits[1].new), .array(["+98 912 345 6789", "021 8888 7777"]))
        XCTAssertEqual(open(edits[2].old), .string("تهران، خیابان ولیعصر"))
        XCTAssertNil(edits[2].new, "a cleared field has no new value")
        let recorded = try company.store.readStream("customer-c1")
        XCTAssertEqual(recorded.last?.actor.principal, "maryam", "who changed it is in the envelope")

        await company.assertRule("no_change", "customer.edit", #"{"customerId": "c1", "name": "رضا رضازاده"}"#)
        try await company.send("customer.edit", #"{"customerId": "c1", "source": {"channel": "website"}}"#)
        guard case .customerFieldEdited(let source) = try company.events("customer-c1").last else { return XCTFail() }
        XCTAssertEqual(source.old?["channel"], "instagram")
        XCTAssertTrue(source.old?["referrer"]?.stringValue?.hasPrefix("v1.") ?? false, "a referrer is a person: sealed")
        XCTAssertEqual(source.new, .object(["channel": "website"]))
    }

    func testAssignRecordsFromAndTo() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send("customer.assign", #"{"customerId": "c1", "agentId": "ali"}"#, as: "sara")
        XCTAssertEqual(
            try company.events("customer-c1").last,
            .customerAssigned(CustomerAssigned(customerId: "c1", from: "maryam", to: "ali", reason: "reassigned")))
        await company.assertRule("no_change", "customer.assign", #"{"customerId": "c1", "agentId": "ali"}"#)
        await company.assertRule(
            "agent_outside_company", "customer.assign", #"{"customerId": "c1", "agentId": "ghost"}"#)
        let missing = await company.refusal("customer.assign", #"{"customerId": "nobody", "agentId": "ali"}"#)
        XCTAssertEqual(missing?.code, .notFound)
        XCTAssertEqual(missing?.path, "/customerId")
    }

    func testContactsAreDecisionMakersOfOrganisations() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("person")
        await company.assertRule(
            "contacts_require_organisation", "customer.contact.add", #"{"customerId": "person", "name": "x"}"#)
        try await company.send(
            "customer.register",
            #"{"customerId": "org", "kind": "organisation", "name": "شرکت پارس", "agentId": "ali"}"#)
        try await company.send(
            "customer.contact.add",
            #"{"customerId": "org", "contactId": "ceo", "name": "مهندس کاظمی", "role": "مدیرعامل", "phones": ["0912 111 2233"]}"#
        )
        let again = await company.refusal(
            "customer.contact.add", #"{"customerId": "org", "contactId": "ceo", "name": "x"}"#)
        XCTAssertEqual(again?.code, .conflict)
        await company.assertRule(
            "contacts_require_organisation", "customer.edit", #"{"customerId": "org", "kind": "person"}"#)
        try await company.send("customer.contact.remove", #"{"customerId": "org", "contactId": "ceo"}"#)
        let gone = await company.refusal("customer.contact.remove", #"{"customerId": "org", "contactId": "ceo"}"#)
        XCTAssertEqual(gone?.code, .notFound)
        try await company.send(
            "customer.competitor.note",
            #"{"customerId": "org", "competitor": "رقیب", "offer": "۱۰٪ تخفیف", "price": {"amount": 200000000, "currency": "IRR"}}"#
        )
        try await company.send(
            "contract.support",
            #"{"contractId": "k1", "customerId": "org", "productId": "printer", "startsOn": "2026-01-01", "expiresOn": "2027-01-01"}"#
        )
        await company.assertRule(
            "contract_dates", "contract.support",
            #"{"customerId": "org", "startsOn": "2026-01-01", "expiresOn": "2025-01-01"}"#)
        XCTAssertEqual(
            try company.events("customer-org").map(\.eventType),
            ["CustomerRegistered", "ContactAdded", "ContactRemoved", "CompetitorNoted", "SupportContractRecorded"])
    }

    func testRetryWithTheSameRequestIDWritesOnceAndReturnsTheFirstResult() async throws {
        let company = try Company(self)
        try await company.seed()
        let first = try await company.send(
            "customer.register", #"{"name": "نگار", "agentId": "ali"}"#, requestId: "req-1")
        let retry = try await company.send(
            "customer.register", #"{"name": "نگار", "agentId": "ali"}"#, requestId: "req-1")
        XCTAssertEqual(retry.stream, first.stream, "the generated id of the first attempt is returned")
        XCTAssertEqual(retry.position, first.position)
        XCTAssertTrue(retry.duplicate)
        XCTAssertEqual(try company.log().filter { $0.type == "CustomerRegistered" }.count, 1)
    }

    func testExpectedVersionRefusesAStaleEdit() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send("customer.edit", #"{"customerId": "c1", "tags": ["a"]}"#, expectedVersion: 1)
        let stale = await company.refusal("customer.edit", #"{"customerId": "c1", "tags": ["b"]}"#, expectedVersion: 1)
        XCTAssertEqual(stale?.code, .conflict)
        XCTAssertEqual(try company.store.streamVersion("customer-c1"), 2)
    }
}
