import Foundation
import FrontDesk
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONKit
import XCTest

/// The front desk's company pages over a real daemon: a quote from the catalogue, the deals
/// board and its forms, the manager's dashboard and its CSV, the audit page and its verify, and
/// who may open which (an agent, a manager, an auditor of access.json).
final class FrontDeskCompanyPagesTests: XCTestCase {
    /// Two agents, a manager and an auditor with logins; a product, deals, an invoice, an edit.
    func company() throws -> DaemonProcess {
        let daemon = try DaemonProcess(self)
        try Data(#"{"users": [{"uid": 4243, "principal": "olga", "role": "auditor"}]}"#.utf8)
            .write(to: URL(fileURLWithPath: daemon.directory + "/access.json"))
        let c = try daemon.connect()
        let setup: [(String, String)] = [
            ("agent.hire", #"{"agentId": "maryam", "name": "مریم رضایی", "role": "agent"}"#),
            ("agent.hire", #"{"agentId": "ali", "name": "علی محمدی", "role": "agent"}"#),
            ("agent.hire", #"{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}"#),
            ("product.define", #"{"productId": "printer", "name": "چاپگر لیزری", "unitPrice": {"amount": 250000000, "currency": "IRR"}}"#),
            ("customer.register", #"{"customerId": "c1", "name": "رضا رضایی", "phones": ["0912 345 6789"], "agentId": "maryam"}"#),
            ("customer.register", #"{"customerId": "c2", "name": "شرکت پارس", "phones": ["021 4444 5555"], "agentId": "ali"}"#),
            ("deal.open", #"{"dealId": "d1", "customerId": "c1", "agentId": "maryam", "title": "چاپگر دفتر", "value": {"amount": 500000000, "currency": "IRR"}}"#),
            ("deal.open", #"{"dealId": "d2", "customerId": "c2", "agentId": "ali", "title": "سرور", "value": {"amount": 900000000, "currency": "IRR"}}"#),
            (
                "invoice.issue",
                #"{"invoiceId": "inv1", "customerId": "c1", "agentId": "maryam", "lines": [{"productId": "printer", "quantity": 2}], "dueAt": "2020-01-01T00:00:00Z", "at": "2019-12-01T10:00:00Z"}"#
            ),
            ("customer.edit", #"{"customerId": "c1", "phones": ["0935 111 2222"]}"#),
        ]
        for (op, args) in setup { XCTAssertEqual(c.call(op, args)["ok"], true, "\(op) \(c.call(op, args))") }
        let users = WebUsers(dataDirectory: daemon.directory)
        try users.add("maryam", password: "رمز بلند مریم ۱۴۰۵")
        try users.add("sara", password: "sara's long password")
        try users.add("olga", password: "olga audits the log", role: "auditor")
        return daemon
    }

    func desk(_ daemon: DaemonProcess) -> FrontDesk {
        FrontDesk(
            users: WebUsers(dataDirectory: daemon.directory), gateway: DaemonGateway(socket: daemon.socketPath),
            throttle: LoginThrottle(delayUnit: 0.001))
    }

    /// Logs `user` in; the headers of their GET requests and of their form posts.
    static func enter(_ client: some TestClientProtocol, _ user: String, _ password: String) async throws
        -> (get: HTTPFields, post: HTTPFields)
    {
        let entered = try await FrontDeskRouteTests.login(client, user, password)
        XCTAssertEqual(entered.status, .seeOther, user)
        let session = try XCTUnwrap(FrontDeskRouteTests.cookie(entered, "crmd_session"))
        var post = FrontDeskRouteTests.formHeaders
        post[.cookie] = "crmd_session=\(session)"
        return ([.cookie: "crmd_session=\(session)"], post)
    }

    func testAQuoteFromTheCatalogueLandsOnTheFileAndABadQuantityIsRefusedOnItsLine() async throws {
        let daemon = try company()
        try await Application(router: desk(daemon).router()).test(.router) { client in
            let (get, post) = try await Self.enter(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            let file = String(buffer: try await client.execute(uri: "/customers/c1", method: .get, headers: get).body)
            XCTAssertTrue(file.contains("id=\"changes\"") && file.contains("0912 345 6789"), "the edit's old phone, who and when")
            XCTAssertTrue(file.contains("href=\"/customers/c1/quote\""), "the file links to the quote form")
            let html = String(buffer: try await client.execute(uri: "/customers/c1/quote", method: .get, headers: get).body)
            XCTAssertTrue(html.contains("id=\"form-quote\"") && html.contains("چاپگر لیزری — 250,000,000"), html)
            let foreign = try await client.execute(uri: "/customers/c2/quote", method: .get, headers: get)
            XCTAssertEqual(foreign.status, .forbidden, "another agent's customer: no quote form")
            let csrf = try FrontDeskRouteTests.hidden(html, form: "form-quote", "csrf")
            let rid = try FrontDeskRouteTests.hidden(html, form: "form-quote", "rid")
            let bad = try await client.execute(
                uri: "/customers/c1/quote", method: .post, headers: post,
                body: FrontDeskRouteTests.form([
                    ("csrf", csrf), ("rid", rid), ("product1", "printer"), ("quantity1", "دو"), ("channel", "phone"),
                ]))
            XCTAssertEqual(bad.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: bad.body).contains("id=\"quote-line1-error\""))
            let quote = FrontDeskRouteTests.form([
                ("csrf", csrf), ("rid", rid), ("product1", "printer"), ("quantity1", "۳"), ("channel", "phone"),
                ("note", "با ۵٪ تخفیف نقدی"),
            ])
            for _ in 0..<2 {
                let given = try await client.execute(uri: "/customers/c1/quote", method: .post, headers: post, body: quote)
                XCTAssertEqual(given.status, .seeOther, String(buffer: given.body))
            }
            let after = String(buffer: try await client.execute(uri: "/customers/c1", method: .get, headers: get).body)
            let start = try XCTUnwrap(after.range(of: "id=\"quotes\""))
            let end = try XCTUnwrap(after.range(of: "</table>", range: start.upperBound..<after.endIndex))
            let quotes = String(after[start.upperBound..<end.lowerBound])
            XCTAssertTrue(quotes.contains("750,000,000"), "three printers at the catalogue price")
            XCTAssertEqual(quotes.components(separatedBy: "<tr><td>").count - 1, 1, "a double submit writes once")
        }
    }

    func testTheDealsBoardMovesWinsAndLosesAndAnAgentSeesOnlyTheirOwnDeals() async throws {
        let daemon = try company()
        try await Application(router: desk(daemon).router()).test(.router) { client in
            let (get, post) = try await Self.enter(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            var html = String(buffer: try await client.execute(uri: "/deals", method: .get, headers: get).body)
            XCTAssertTrue(html.contains("id=\"deal-d1\""), html)
            XCTAssertFalse(html.contains("id=\"deal-d2\""), "another agent's deal is not on an agent's board")
            XCTAssertFalse(html.contains("/dashboard"), "an agent is not offered the dashboard")
            let column = try XCTUnwrap(html.range(of: "id=\"stage-lead\""))
            XCTAssertNotNil(html.range(of: "id=\"deal-d1\"", range: column.upperBound..<html.endIndex))

            let csrf = try FrontDeskRouteTests.hidden(html, form: "deal-d1", "csrf")
            func action(_ name: String, _ fields: [(String, String)]) async throws -> TestResponse {
                try await client.execute(
                    uri: "/deals/d1/\(name)", method: .post, headers: post,
                    body: FrontDeskRouteTests.form([("csrf", csrf), ("rid", UUID().uuidString)] + fields))
            }
            let moved = try await action("move", [("stage", "proposal"), ("pipeline", "default")])
            XCTAssertEqual(moved.status, .seeOther)
            XCTAssertEqual(moved.headers[.location], "/deals?pipeline=default")
            html = String(buffer: try await client.execute(uri: "/deals", method: .get, headers: get).body)
            let proposal = try XCTUnwrap(html.range(of: "id=\"stage-proposal\""))
            let next = html.range(of: "<section", range: proposal.upperBound..<html.endIndex)?.lowerBound ?? html.endIndex
            XCTAssertNotNil(html.range(of: "id=\"deal-d1\"", range: proposal.upperBound..<next), "moved to proposal")

            let refused = try await action("move", [("stage", "no-such-stage")])
            XCTAssertEqual(refused.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: refused.body).contains("id=\"deal-d1-error\""), "the refusal on the deal's card")
            let lost = try await action("lose", [("reason", "price")])
            XCTAssertEqual(lost.status, .seeOther)
            html = String(buffer: try await client.execute(uri: "/deals", method: .get, headers: get).body)
            let lostColumn = try XCTUnwrap(html.range(of: "id=\"stage-lost\""))
            XCTAssertNotNil(html.range(of: "id=\"deal-d1\"", range: lostColumn.upperBound..<html.endIndex))
            XCTAssertFalse(html.contains("action=\"/deals/d1/win\""), "a closed deal has no buttons")

            let foreign = try await client.execute(
                uri: "/deals/d2/win", method: .post, headers: post,
                body: FrontDeskRouteTests.form([("csrf", csrf), ("rid", "r-foreign")]))
            XCTAssertEqual(foreign.status, .forbidden, "another agent's deal, by URL")
            let dashboard = try await client.execute(uri: "/dashboard", method: .get, headers: get)
            XCTAssertEqual(dashboard.status, .forbidden)
            let csv = try await client.execute(uri: "/dashboard/sales.csv", method: .get, headers: get)
            XCTAssertEqual(csv.status, .forbidden)
            let audit = try await client.execute(uri: "/audit", method: .get, headers: get)
            XCTAssertEqual(audit.status, .forbidden)
        }
    }

    func testTheManagersDashboardChartsSalesByPersianMonthAndEachQuestionDownloadsAsCSV() async throws {
        let daemon = try company()
        try await Application(router: desk(daemon).router()).test(.router) { client in
            let (get, _) = try await Self.enter(client, "sara", "sara's long password")
            let page = try await client.execute(uri: "/dashboard?from=2019-03-21&to=2020-03-19", method: .get, headers: get)
            XCTAssertEqual(page.status, .ok)
            let html = String(buffer: page.body)
            XCTAssertTrue(html.contains("<svg class=\"chart\" id=\"sales-chart\""), html)
            XCTAssertTrue(html.contains("آذر ۱۳۹۸"), "the invoice of 1 December 2019 is in Azar 1398")
            XCTAssertTrue(html.contains("500,000,000"))
            for section in ["sales", "products", "quotes", "funnel", "daily", "receivables", "dormant", "workload", "branches", "targets"] {
                XCTAssertTrue(html.contains("id=\"csv-\(section)\""), section)
            }
            XCTAssertFalse(html.contains("<script"))

            let csv = try await client.execute(
                uri: "/dashboard/receivables.csv?from=2019-03-21&to=2020-03-19", method: .get, headers: get)
            XCTAssertEqual(csv.status, .ok)
            XCTAssertEqual(csv.headers[.contentType], "text/csv; charset=utf-8")
            XCTAssertTrue(csv.headers[.contentDisposition]?.contains("attachment") ?? false)
            let text = String(buffer: csv.body)
            XCTAssertTrue(text.hasPrefix("\u{FEFF}"), "a byte-order mark, for Excel")
            let rows = text.dropFirst().split(separator: "\r\n", omittingEmptySubsequences: true)
                .flatMap { $0.split(separator: "\n") }
            XCTAssertEqual(rows.count, 2, text)
            XCTAssertTrue(rows.last?.hasPrefix("maryam,1,") ?? false, "maryam's customer owes the invoice: \(text)")

            let narrowed = String(
                buffer: try await client.execute(
                    uri: "/dashboard/sales.csv?from=2019-03-21&to=2020-03-19&agent=ali", method: .get, headers: get
                ).body)
            XCTAssertEqual(narrowed.split(separator: "\n").count, 1, "ali sold nothing: the header alone")
            let unknown = try await client.execute(uri: "/dashboard/secrets.csv", method: .get, headers: get)
            XCTAssertEqual(unknown.status, .notFound)
        }
    }

    func testTheAuditPageFiltersTheLogShowsTheHeadAndVerifiesAndAnAuditorReadsButDoesNotWrite() async throws {
        let daemon = try company()
        let head = try daemon.connect().call("system.status")["result"]?["headHash"]?.stringValue ?? "?"
        try await Application(router: desk(daemon).router()).test(.router) { client in
            let (get, post) = try await Self.enter(client, "olga", "olga audits the log")
            var html = String(buffer: try await client.execute(uri: "/audit", method: .get, headers: get).body)
            XCTAssertTrue(html.contains("id=\"head-hash\""), html)
            XCTAssertTrue(html.contains("id=\"last-verify\">هرگز"), "never verified yet")
            XCTAssertTrue(html.contains(head))

            let filtered = String(
                buffer: try await client.execute(uri: "/audit?type=DealOpened", method: .get, headers: get).body)
            XCTAssertTrue(filtered.contains("deal-d1") && filtered.contains("deal-d2"), filtered)
            XCTAssertFalse(filtered.contains("<td>CustomerRegistered</td>"), "only the type asked for")
            let byStream = String(
                buffer: try await client.execute(uri: "/audit?stream=customer-c1", method: .get, headers: get).body)
            XCTAssertTrue(byStream.contains("<td>CustomerFieldEdited</td>") && !byStream.contains("<td>DealOpened</td>"))
            let history = String(
                buffer: try await client.execute(uri: "/audit?customer=c1", method: .get, headers: get).body)
            XCTAssertTrue(history.contains("id=\"customer-history\"") && history.contains("0935 111 2222"))

            let token = try XCTUnwrap(html.range(of: "action=\"/audit/verify\"><input type=\"hidden\" name=\"csrf\" value=\""))
            let value = String(html[token.upperBound...].prefix { $0 != "\"" })
            let verified = try await client.execute(
                uri: "/audit/verify", method: .post, headers: post, body: FrontDeskRouteTests.form([("csrf", value)]))
            XCTAssertEqual(verified.status, .seeOther)
            html = String(buffer: try await client.execute(uri: "/audit?verified=1", method: .get, headers: get).body)
            XCTAssertTrue(html.contains("id=\"verified\""))
            XCTAssertTrue(html.contains("سالم") && html.contains("olga"), "the last verify: ok, by the auditor")

            let file = String(buffer: try await client.execute(uri: "/customers/c2", method: .get, headers: get).body)
            XCTAssertTrue(file.contains("شرکت پارس"), "an auditor reads every file")
            XCTAssertFalse(file.contains("id=\"form-call\""), "and is offered no form")
            let write = try await client.execute(
                uri: "/customers/c2/note", method: .post, headers: post,
                body: FrontDeskRouteTests.form([("csrf", value), ("rid", "r-auditor"), ("text", "نباید ثبت شود")]))
            XCTAssertEqual(write.status, .forbidden, "the daemon refuses an auditor's write")
        }
    }
}
