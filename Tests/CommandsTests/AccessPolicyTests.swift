import Commands
import Door
import Foundation
import JSONKit
import Projections
import XCTest

/// Who may do what, written out by hand: the access policy must give exactly these answers, for
/// every op of both catalogues, every role, a gateway acting as each, and an unknown uid. The
/// table is docs/access.md (`make docs` renders it; this test fails when the file is stale).
final class AccessPolicyTests: XCTestCase {
    /// What a role gets on an op: refused, admitted, admitted on its own customers only, admitted
    /// as itself only (its own agent id), or admitted with what it sees narrowed to its customers.
    enum Answer: String {
        case no, yes, own, `self`, narrowed
    }

    /// The table: ops, then the answers of admin, manager, agent and auditor.
    static let table: [(ops: [String], admin: Answer, manager: Answer, agent: Answer, auditor: Answer)] = [
        (
            [
                "agent.hire", "agent.leave", "branch.open", "customer.assign", "customer.forget", "pipeline.define",
                "product.define",
                "product.reprice", "product.retire", "target.set",
            ], .yes, .yes, .no, .no
        ),
        (["customer.register"], .yes, .yes, .self, .no),
        (
            [
                "call.log", "contract.support", "customer.competitor.note", "customer.contact.add",
                "customer.contact.remove",
                "customer.edit", "deal.lose", "deal.move", "deal.open", "deal.win", "email.log", "followup.cancel",
                "followup.complete",
                "followup.defer", "followup.schedule", "invoice.issue", "invoice.void", "meeting.log",
                "negotiation.log", "note.add",
                "payment.record", "proforma.issue", "quote.give", "sms.log",
            ], .yes, .yes, .own, .no
        ),
        (["customer.get", "customer.history"], .yes, .yes, .own, .yes),
        (["customer.find", "customer.lookup", "deal.board", "product.list"], .yes, .yes, .narrowed, .yes),
        (["agent.agenda", "agent.view"], .yes, .yes, .self, .yes),
        (
            [
                "funnel.report", "log.read", "log.subscribe", "log.verify", "report.branches", "report.daily", "report.dormant",
                "report.quotes",
                "report.receivables", "report.sales", "report.targets", "report.workload", "system.status",
            ], .yes, .yes, .no, .yes
        ),
        (["projections.rebuild"], .yes, .yes, .no, .no),
    ]

    static func audience(_ op: String) -> Audience? {
        if op == QueryCatalogue.subscription.name { return QueryCatalogue.subscription.audience }
        return CommandCatalogue.audience(op) ?? QueryCatalogue.definition(op)?.audience
    }

    /// Customers, deals, invoices and follow-ups called `mine` are maryam's; `theirs` are ali's.
    struct Facts: AccessFacts {
        func ownership(of record: SubjectRecord) throws(WireError) -> Ownership? {
            let id: String
            switch record {
            case .customer(let value), .deal(let value), .invoice(let value), .followup(let value): id = value
            }
            switch id {
            case "mine": return Ownership(customerId: "c-mine", agentId: "maryam")
            case "theirs": return Ownership(customerId: "c-theirs", agentId: "ali")
            default: return nil
            }
        }
    }

    static func args(_ whose: String, agent: String) -> JSON {
        .object([
            "customerId": .string(whose), "dealId": .string(whose), "invoiceId": .string(whose),
            "followupId": .string(whose), "agentId": .string(agent),
        ])
    }

    /// What the policy answers `caller` on `op`, in the table's words.
    static func answer(_ caller: Caller, _ op: String) throws -> Answer {
        let audience = try XCTUnwrap(audience(op), op)
        func admitted(_ args: JSON) -> AccessScope? {
            try? AccessPolicy.authorise(caller, op: op, audience: audience, args: args, facts: Facts())
        }
        guard let own = admitted(args("mine", agent: caller.principal)) else { return .no }
        let theirs = admitted(args("theirs", agent: caller.principal))
        let otherAgent = admitted(args("mine", agent: "someone-else"))
        switch (theirs, otherAgent) {
        case (nil, _): return .own
        case (_?, nil): return .self
        case (_?, _?): return own == .everything ? .yes : .narrowed
        }
    }

    func testEveryOpOfBothCataloguesIsInTheTableOnce() {
        let listed = AccessPolicyTests.table.flatMap(\.ops)
        XCTAssertEqual(listed.count, Set(listed).count, "an op listed twice")
        XCTAssertEqual(Set(listed), Set(CommandCatalogue.names + QueryCatalogue.names + ["log.subscribe"]))
    }

    func testEachRoleGetsTheAnswersOfTheTable() throws {
        for row in AccessPolicyTests.table {
            for op in row.ops {
                XCTAssertEqual(
                    try AccessPolicyTests.answer(Caller(principal: "admin", role: .admin), op), row.admin, op)
                XCTAssertEqual(
                    try AccessPolicyTests.answer(Caller(principal: "sara", role: .manager), op), row.manager, op)
                XCTAssertEqual(
                    try AccessPolicyTests.answer(Caller(principal: "maryam", role: .agent), op), row.agent, op)
                XCTAssertEqual(
                    try AccessPolicyTests.answer(Caller(principal: "audit", role: .auditor), op), row.auditor, op)
            }
        }
    }

    static let listed: [UInt32: (principal: String, role: Role)] = [
        0: ("admin", .admin), 1001: ("maryam", .agent), 1002: ("sara", .manager), 1003: ("audit", .auditor),
        1004: ("pbx", .gateway),
    ]

    static func identify(_ uid: UInt32, as acting: String?) throws(WireError) -> Caller {
        try AccessPolicy.identify(
            uid: uid, listed: listed[uid], acting: acting,
            listedRole: { name in listed.values.first { $0.principal == name }?.role },
            hiredRole: { name in name == "ali" ? .agent : name == "reza" ? .manager : nil })
    }

    func testAGatewayActsAsAgentsAndManagersWithTheirRightsAndNeverAlone() throws {
        for row in AccessPolicyTests.table {
            for op in row.ops {
                XCTAssertEqual(
                    try AccessPolicyTests.answer(try AccessPolicyTests.identify(1004, as: "maryam"), op), row.agent, op)
                XCTAssertEqual(
                    try AccessPolicyTests.answer(try AccessPolicyTests.identify(1004, as: "reza"), op), row.manager, op)
                XCTAssertEqual(
                    try AccessPolicyTests.answer(try AccessPolicyTests.identify(0, as: "audit"), op), row.auditor, op)
            }
        }
        XCTAssertEqual(
            try AccessPolicyTests.identify(1004, as: "ali"),
            Caller(principal: "ali", role: .agent, uid: 1004, actingFor: "pbx"),
            "a hired agent not in access.json acts with the role they were hired with")
        let refusals: [(UInt32, String?, String)] = [
            (1004, nil, "a gateway acts only `as` an agent"),
            (1004, "admin", "a gateway acts only as agents, managers and auditors"),
            (1004, "nobody", "nobody is neither a user in access.json nor an active agent"),
            (1001, "ali", "only admins and gateways may act as another principal"),
            (1003, "maryam", "only admins and gateways may act as another principal"),
            (4242, nil, "uid 4242 is not in access.json"),
        ]
        for (uid, acting, message) in refusals {
            XCTAssertThrowsError(try AccessPolicyTests.identify(uid, as: acting)) { error in
                XCTAssertEqual((error as? WireError)?.code, .forbidden)
                XCTAssertEqual((error as? WireError)?.message, message)
            }
        }
        XCTAssertEqual(
            try AccessPolicyTests.identify(1004, as: "audit"),
            Caller(principal: "audit", role: .auditor, uid: 1004, actingFor: "pbx"),
            "an auditor reads through the front desk with an auditor's rights, never more")
        XCTAssertEqual(
            try AccessPolicyTests.identify(1001, as: "maryam").actingFor, nil, "acting as oneself is being oneself")
    }

    func testAnAgentIsRefusedAnotherAgentsCustomerByTheRecordItNames() throws {
        let maryam = Caller(principal: "maryam", role: .agent)
        let cases: [(String, String, String)] = [
            ("payment.record", #"{"invoiceId": "theirs", "amount": {"amount": 1, "currency": "IRR"}}"#, "/invoiceId"),
            ("deal.win", #"{"dealId": "theirs"}"#, "/dealId"),
            ("followup.defer", #"{"followupId": "theirs"}"#, "/followupId"),
            ("note.add", #"{"customerId": "theirs", "text": "سلام"}"#, "/customerId"),
        ]
        for (op, args, path) in cases {
            let audience = try XCTUnwrap(CommandCatalogue.audience(op))
            XCTAssertThrowsError(
                try AccessPolicy.authorise(
                    maryam, op: op, audience: audience, args: try JSON.parse(args), facts: Facts())
            ) {
                XCTAssertEqual(($0 as? WireError)?.message, "customer c-theirs is served by another agent", op)
                XCTAssertEqual(($0 as? WireError)?.path, path, op)
            }
        }
        let unknown = try AccessPolicy.authorise(
            maryam, op: "note.add", audience: .customerWork(.customer(at: "/customerId")),
            args: try JSON.parse(#"{"customerId": "nobody"}"#), facts: Facts())
        XCTAssertEqual(
            unknown, .ownCustomers("maryam"), "an unknown customer is the op's not_found to give, not the policy's")
    }

    /// docs/access.md as the table renders it.
    static func renderedDoc() throws -> String {
        var out = """
            # Who may do what

            Generated by `make docs` from the table of `Tests/CommandsTests/AccessPolicyTests.swift`,
            which checks the access policy (`Sources/Door/AccessPolicy.swift`) gives exactly these answers.
            The daemon asks the policy once per request, before the op reads its arguments.

            - **yes**: admitted. **no**: refused with `forbidden`.
            - **own**: only on the agent's own customers (the customer, or the deal, invoice or follow-up
              of one), and only as themselves (an `agentId` argument must be their own).
            - **self**: only as themselves (their own agenda and view; a customer registered to them).
            - **narrowed**: admitted, and the answer covers only the agent's own customers.
            - A `gateway` (the web front desk, an importer) never acts alone: it sends every request
              `as` an agent or a manager and gets exactly that person's answers. An admin may act as anyone.
              A uid missing from access.json is refused everything.

            | op | admin | manager | agent | auditor |
            |---|---|---|---|---|

            """
        for row in table {
            for op in row.ops.sorted() {
                out +=
                    "| `\(op)` | \(row.admin.rawValue) | \(row.manager.rawValue) | \(row.agent.rawValue) | \(row.auditor.rawValue) |\n"
            }
        }
        return out
    }

    static let docPath = repositoryRoot + "/docs/access.md"

    func testDocsAccessIsTheTable() throws {
        let written = try String(contentsOfFile: AccessPolicyTests.docPath, encoding: .utf8)
        XCTAssertEqual(written, try AccessPolicyTests.renderedDoc(), "docs/access.md is stale: run make docs")
    }

    /// `make docs`: writes docs/access.md from the table.
    func testWriteAccessDoc() throws {
        guard ProcessInfo.processInfo.environment["CRMD_WRITE_DOCS"] == "1" else {
            throw XCTSkip("set CRMD_WRITE_DOCS=1 to rewrite docs/access.md")
        }
        try AccessPolicyTests.renderedDoc().write(toFile: AccessPolicyTests.docPath, atomically: true, encoding: .utf8)
    }
}
