import CRMEvents
import CRMTestSupport
import Commands
import EventStore
import Foundation
import JSONKit
import KeyValue
import XCTest

final class PersonalDataTests: XCTestCase {
    /// Whether `needle`'s UTF-8 bytes occur anywhere in the file at `path`.
    func file(_ path: String, contains needle: [UInt8]) throws -> Bool {
        let haystack = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var i = 0
        while i <= haystack.count - needle.count {
            if haystack[i] == first, Array(haystack[i..<(i + needle.count)]) == needle { return true }
            i += 1
        }
        return false
    }

    func testTheLogFileHoldsNoPlainNamePhoneOrNoteBeforeOrAfterForgetting() async throws {
        let company = try Company(self)
        try await company.seed()
        let name = "فرهاد بهرامی‌نژاد"
        let phone = "+98 935 555 0199"
        let note = "مشتری گفت بودجه‌اش تا اسفند آزاد می‌شود"
        try await company.send(
            "customer.register",
            """
            {"customerId": "c1", "name": "\(name)", "phones": ["\(phone)"], "agentId": "maryam"}
            """)
        try await company.send("note.add", #"{"customerId": "c1", "text": "\#(note)"}"#, as: "maryam")
        try await company.send(
            "call.log",
            #"{"customerId": "c1", "direction": "inbound", "durationSeconds": 240, "outcome": "interested", "text": "\#(note)", "address": "\#(phone)"}"#,
            as: "maryam")
        let dataFile = company.directory + "/log/data.mdb"
        let secrets = [name, phone, note, "بهرامی", "555 0199"]
        for secret in secrets {
            XCTAssertFalse(try file(dataFile, contains: Array(secret.utf8)), "the log holds \(secret) in plain text")
        }
        XCTAssertTrue(
            try file(dataFile, contains: Array("CustomerRegistered".utf8)), "the search itself works on this file")

        let key = try XCTUnwrap(company.key("c1"))
        try await company.send("customer.forget", #"{"customerId": "c1", "reason": "customer_request"}"#)
        for secret in secrets {
            XCTAssertFalse(
                try file(dataFile, contains: Array(secret.utf8)),
                "the log holds \(secret) in plain text after forgetting")
        }
        XCTAssertNil(try company.key("c1"), "the data key is destroyed")
        XCTAssertFalse(
            try file(company.directory + "/keys/data.mdb", contains: key.bytes),
            "no copy of the key is left in the key file's free pages")
        XCTAssertTrue(try company.keys.isDestroyed("customer-c1"))
    }

    func testForgettingLeavesTheLogVerifiableAndEveryoneUnableToReadOrAdd() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.send(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "toner", "quantity": 2}], "dueAt": "2026-12-01T00:00:00Z"}"#,
            as: "maryam")
        try await company.send("deal.open", #"{"dealId": "d1", "customerId": "c1"}"#, as: "maryam")
        let before = try company.log().count
        let forgotten = try await company.send("customer.forget", #"{"customerId": "c1"}"#, as: "sara")
        XCTAssertEqual(forgotten.events, ["CustomerForgotten"])
        XCTAssertEqual(try company.log().count, before + 1, "forgetting appends; nothing is removed")
        XCTAssertNil(try company.store.verify().problem, "the hash chain covers ciphertext, which did not change")

        // Every sealed value of the customer is now unreadable, even with a guessed key.
        guard case .customerRegistered(let registered) = try company.events("customer-c1")[0] else { return XCTFail() }
        XCTAssertNil(DataKey.generate(owner: "customer-c1").open(registered.name))

        for (op, args) in [
            ("note.add", #"{"customerId": "c1", "text": "x"}"#),
            ("customer.edit", #"{"customerId": "c1", "name": "x"}"#),
            ("payment.record", #"{"invoiceId": "i1", "amount": 1, "method": "cash"}"#),
            ("deal.move", #"{"dealId": "d1", "stage": "qualified"}"#),
            (
                "quote.give",
                #"{"customerId": "c1", "lines": [{"productId": "toner", "quantity": 1}], "channel": "phone"}"#
            ),
        ] {
            await company.assertRule("customer_forgotten", op, args, as: "maryam")
        }
        let reuse = await company.refusal("customer.register", #"{"customerId": "c1", "name": "x", "agentId": "ali"}"#)
        XCTAssertEqual(reuse?.code, .conflict, "a forgotten customer's id is not reused")
    }

    func testABackupTakenAfterForgettingHoldsNoKey() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        try await company.register("c2")
        let key1 = try XCTUnwrap(company.key("c1")).bytes
        let key2 = try XCTUnwrap(company.key("c2")).bytes
        try await company.send("customer.forget", #"{"customerId": "c1"}"#)
        let backup = company.directory + "/backup-keys"
        try FileManager.default.createDirectory(atPath: backup, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: company.directory + "/keys/data.mdb", toPath: backup + "/data.mdb")
        XCTAssertFalse(try file(backup + "/data.mdb", contains: key1))
        XCTAssertTrue(try file(backup + "/data.mdb", contains: key2), "the other customer's key is still there")
        let reopened = try KeyStore(directory: backup)
        defer { reopened.close() }
        XCTAssertNil(try reopened.key(for: "customer-c1"))
        XCTAssertEqual(try reopened.key(for: "customer-c2"), key2)
    }

    func testAForgetCutOffBeforeTheKeyWasDestroyedIsFinishedByReconcile() async throws {
        let company = try Company(self)
        try await company.seed()
        try await company.register("c1")
        // The state a crash between the commit and the key's destruction leaves behind.
        let event = CRMEvent.customerForgotten(CustomerForgotten(customerId: "c1", reason: "customer_request"))
        _ = try await company.store.append(to: "customer-c1", expected: .exact(1), [event.proposed(at: .now())])
        XCTAssertNotNil(try company.key("c1"))
        XCTAssertEqual(try company.service.reconcileForgottenKeys(), 1)
        XCTAssertNil(try company.key("c1"))
        XCTAssertEqual(try company.service.reconcileForgottenKeys(), 0)
    }
}
