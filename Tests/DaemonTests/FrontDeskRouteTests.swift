import Foundation
import FrontDesk
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONKit
import XCTest

/// The front desk's routes (HummingbirdTesting) over a real daemon: login and its refusals,
/// search, the customer file as the access policy allows it, logout, the daemon gone.
final class FrontDeskRouteTests: XCTestCase {
    /// A company with two agents, each with a customer and a login.
    func company() throws -> (DaemonProcess, Connection) {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        for agent in [#""agentId": "maryam", "name": "مریم رضایی""#, #""agentId": "ali", "name": "علی محمدی""#] {
            XCTAssertEqual(c.call("agent.hire", #"{\#(agent), "role": "agent"}"#)["ok"], true)
        }
        XCTAssertEqual(
            c.call("customer.register", #"{"customerId": "c1", "name": "رضا رضایی", "phones": ["0912 345 6789"], "agentId": "maryam"}"#)["ok"],
            true)
        XCTAssertEqual(
            c.call("customer.register", #"{"customerId": "c2", "name": "شرکت پارس", "phones": ["021 4444 5555"], "agentId": "ali"}"#)["ok"],
            true)
        XCTAssertEqual(
            c.call("call.log", #"{"customerId": "c1", "direction": "inbound", "text": "قیمت چاپگر را پرسید"}"#, extra: #", "as": "maryam""#)["ok"],
            true)
        let users = WebUsers(dataDirectory: daemon.directory)
        try users.add("maryam", password: "رمز بلند مریم ۱۴۰۵")
        try users.add("ali", password: "ali's long password")
        return (daemon, c)
    }

    func desk(_ daemon: DaemonProcess, socket: String? = nil) -> FrontDesk {
        FrontDesk(
            users: WebUsers(dataDirectory: daemon.directory),
            gateway: DaemonGateway(socket: socket ?? daemon.socketPath), throttle: LoginThrottle(delayUnit: 0.001))
    }

    static func form(_ fields: [(String, String)]) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        let text = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
        return ByteBuffer(string: text)
    }

    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]

    /// The value of cookie `name` that a response sets.
    static func cookie(_ response: TestResponse, _ name: String) -> String? {
        for value in response.headers[values: .setCookie] where value.hasPrefix(name + "=") {
            return String(value.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    /// Logs maryam in; the headers of her GET requests and of her form posts.
    static func enter(_ client: some TestClientProtocol) async throws -> (get: HTTPFields, post: HTTPFields) {
        let entered = try await login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
        let session = try XCTUnwrap(cookie(entered, "crmd_session"))
        var post = formHeaders
        post[.cookie] = "crmd_session=\(session)"
        return ([.cookie: "crmd_session=\(session)"], post)
    }

    /// Opens the login form and posts it; returns the response and the form's CSRF token.
    static func login(
        _ client: some TestClientProtocol, _ user: String, _ password: String, csrf: Bool = true
    ) async throws -> TestResponse {
        let page = try await client.execute(uri: "/login", method: .get)
        let token = try XCTUnwrap(cookie(page, "crmd_login"))
        XCTAssertTrue(String(buffer: page.body).contains("name=\"csrf\" value=\"\(token)\""))
        var headers = formHeaders
        headers[.cookie] = "crmd_login=\(token)"
        return try await client.execute(
            uri: "/login", method: .post, headers: headers,
            body: form([("username", user), ("password", password), ("csrf", csrf ? token : "forged")]))
    }

    func testAnAgentLogsInFindsTheirCustomerByAPersianPhoneAndLogsOut() async throws {
        let (daemon, _) = try company()
        let app = Application(router: desk(daemon).router())
        try await app.test(.router) { client in
            let page = try await client.execute(uri: "/login", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(
                page.headers[.contentSecurityPolicy],
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
            XCTAssertEqual(page.headers[HTTPField.Name("X-Frame-Options")!], "DENY")
            XCTAssertEqual(page.headers[HTTPField.Name("Referrer-Policy")!], "no-referrer")
            XCTAssertTrue(String(buffer: page.body).contains("<html lang=\"fa\" dir=\"rtl\">"))
            XCTAssertFalse(String(buffer: page.body).contains("<script"), "no script at all")

            let wrong = try await Self.login(client, "maryam", "رمز اشتباه مریم")
            XCTAssertEqual(wrong.status, .unauthorized)
            XCTAssertTrue(String(buffer: wrong.body).contains("role=\"alert\""))
            XCTAssertNil(Self.cookie(wrong, "crmd_session"))

            let entered = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            XCTAssertEqual(entered.status, .seeOther)
            XCTAssertEqual(entered.headers[.location], "/search")
            let setCookie = try XCTUnwrap(entered.headers[values: .setCookie].first { $0.hasPrefix("crmd_session=") })
            XCTAssertTrue(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict"), setCookie)
            XCTAssertFalse(setCookie.contains("Secure"), "plain HTTP on loopback")
            let session = try XCTUnwrap(Self.cookie(entered, "crmd_session"))
            let cookies: HTTPFields = [.cookie: "crmd_session=\(session)"]

            let phone = "۰۹۱۲ ۳۴۵ ۶۷۸۹".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let found = try await client.execute(uri: "/search?q=\(phone)", method: .get, headers: cookies)
            XCTAssertEqual(found.status, .seeOther, String(buffer: found.body))
            XCTAssertEqual(found.headers[.location], "/customers/c1", "one hit goes straight to the file")
            let file = try await client.execute(uri: "/customers/c1", method: .get, headers: cookies)
            XCTAssertEqual(file.status, .ok)
            let html = String(buffer: file.body)
            XCTAssertTrue(html.contains("رضا رضایی") && html.contains("قیمت چاپگر را پرسید"), html)
            let logout = try XCTUnwrap(html.range(of: "name=\"csrf\" value=\"")).upperBound
            let csrf = String(html[logout...].prefix { $0 != "\"" })

            let other = try await client.execute(uri: "/customers/c2", method: .get, headers: cookies)
            XCTAssertEqual(other.status, .forbidden, "another agent's customer, by URL")
            XCTAssertFalse(String(buffer: other.body).contains("پارس"))
            let hidden = try await client.execute(uri: "/search?q=021%204444%205555", method: .get, headers: cookies)
            XCTAssertEqual(hidden.status, .ok)
            XCTAssertTrue(String(buffer: hidden.body).contains("id=\"no-results\""), "nor in search")

            var post = Self.formHeaders
            post[.cookie] = "crmd_session=\(session)"
            let forged = try await client.execute(
                uri: "/logout", method: .post, headers: post, body: Self.form([("csrf", "forged")]))
            XCTAssertEqual(forged.status, .forbidden, "a form without its CSRF token is refused")
            let out = try await client.execute(uri: "/logout", method: .post, headers: post, body: Self.form([("csrf", csrf)]))
            XCTAssertEqual(out.status, .seeOther)
            XCTAssertEqual(out.headers[.location], "/login")
            let after = try await client.execute(uri: "/search", method: .get, headers: cookies)
            XCTAssertEqual(after.status, .seeOther)
            XCTAssertEqual(after.headers[.location], "/login", "the session ended")
        }
    }

    func testForgedLockedDisabledAndDepartedLoginsAreRefused() async throws {
        let (daemon, c) = try company()
        let app = Application(router: desk(daemon).router())
        let directory = daemon.directory
        try await app.test(.router) { client in
            let forged = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵", csrf: false)
            XCTAssertEqual(forged.status, .forbidden)
            let noCookie = try await client.execute(
                uri: "/login", method: .post, headers: Self.formHeaders,
                body: Self.form([("username", "maryam"), ("password", "رمز بلند مریم ۱۴۰۵"), ("csrf", "x")]))
            XCTAssertEqual(noCookie.status, .forbidden)

            for _ in 0..<5 { _ = try await Self.login(client, "ali", "not the password") }
            let locked = try await Self.login(client, "ali", "ali's long password")
            XCTAssertEqual(locked.status, .tooManyRequests, "locked after five failures, even with the right password")

            let users = WebUsers(dataDirectory: directory)
            try users.setDisabled("maryam", true)
            let disabled = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            XCTAssertEqual(disabled.status, .unauthorized)
            try users.setDisabled("maryam", false)
            let enabled = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            XCTAssertEqual(enabled.status, .seeOther)
        }
        XCTAssertEqual(c.call("agent.leave", #"{"agentId": "maryam", "successorId": "ali"}"#)["ok"], true)
        try await app.test(.router) { client in
            let departed = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            XCTAssertEqual(departed.status, .unauthorized, "someone who left the company cannot log in")
        }
    }

    func testWithTheDaemonGoneThePageSaysSoAndRetries() async throws {
        let (daemon, _) = try company()
        let app = Application(router: desk(daemon, socket: daemon.directory + "/nobody-here.sock").router())
        try await app.test(.router) { client in
            let response = try await Self.login(client, "maryam", "رمز بلند مریم ۱۴۰۵")
            XCTAssertEqual(response.status, .serviceUnavailable)
            XCTAssertEqual(response.headers[.retryAfter], "5")
            let html = String(buffer: response.body)
            XCTAssertTrue(html.contains("سامانه در دسترس نیست") && html.contains("http-equiv=\"refresh\""), html)
            XCTAssertFalse(html.contains("nobody-here.sock"), "no internals on the page")
        }
    }

    /// The hidden value of `name` inside the form `formId` of `html`.
    static func hidden(_ html: String, form formId: String, _ name: String) throws -> String {
        let form = try XCTUnwrap(html.range(of: "id=\"\(formId)\""), formId)
        let field = try XCTUnwrap(html.range(of: "name=\"\(name)\" value=\"", range: form.upperBound..<html.endIndex))
        return String(html[field.upperBound...].prefix { $0 != "\"" })
    }

    func testTheFileFormsWriteOnceShowRefusalsOnTheFieldAndAnAsOfViewShowsTheOldPhone() async throws {
        let (daemon, _) = try company()
        let app = Application(router: desk(daemon).router())
        try await app.test(.router) { client in
            let (cookies, post) = try await Self.enter(client)
            func page(_ uri: String = "/customers/c1") async throws -> String {
                String(buffer: try await client.execute(uri: uri, method: .get, headers: cookies).body)
            }

            var html = try await page()
            XCTAssertTrue(html.contains("۱۴۰۵/"), "dates in the Jalali calendar with Persian digits")
            let csrf = try Self.hidden(html, form: "form-call", "csrf")
            let rid = try Self.hidden(html, form: "form-call", "rid")
            let call = Self.form([("csrf", csrf), ("rid", rid), ("direction", "outbound"), ("text", "پیگیری پیش‌فاکتور چاپگر")])
            let logged = try await client.execute(uri: "/customers/c1/call", method: .post, headers: post, body: call)
            XCTAssertEqual(logged.status, .seeOther)
            XCTAssertEqual(logged.headers[.location], "/customers/c1")
            let again = try await client.execute(uri: "/customers/c1/call", method: .post, headers: post, body: call)
            XCTAssertEqual(again.status, .seeOther, "a resubmitted form is answered, not refused")
            html = try await page()
            let start: Range<String.Index> = try XCTUnwrap(html.range(of: "id=\"timeline\""))
            let timeline = String(html[start.lowerBound...])
            XCTAssertEqual(timeline.components(separatedBy: "پیگیری پیش‌فاکتور چاپگر").count - 1, 1, "written once")
            XCTAssertLessThan(
                try XCTUnwrap(timeline.range(of: "پیگیری پیش‌فاکتور چاپگر")).lowerBound,
                try XCTUnwrap(timeline.range(of: "قیمت چاپگر را پرسید")).lowerBound, "the newest call is on top")

            let future = Self.form([
                ("csrf", csrf), ("rid", try Self.hidden(html, form: "form-call", "rid")), ("direction", "inbound"),
                ("text", "فردا"), ("at", "2099-01-01T10:00"),
            ])
            let refused = try await client.execute(uri: "/customers/c1/call", method: .post, headers: post, body: future)
            XCTAssertEqual(refused.status, .unprocessableContent)
            let refusedPage = String(buffer: refused.body)
            XCTAssertTrue(refusedPage.contains("id=\"call-at-error\""), "the daemon's path marks the field")
            XCTAssertTrue(refusedPage.contains("future"), "and its message says what to fix")
            XCTAssertTrue(refusedPage.contains("value=\"فردا\"") || refusedPage.contains(">فردا</textarea>"), "what was typed stays")
            let unreadable = Self.form([
                ("csrf", csrf), ("rid", "r-unreadable"), ("direction", "inbound"), ("text", "x"), ("at", "دیروز"),
            ])
            let bad = try await client.execute(uri: "/customers/c1/call", method: .post, headers: post, body: unreadable)
            XCTAssertEqual(bad.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: bad.body).contains("id=\"call-at-error\""))
            let forged = try await client.execute(
                uri: "/customers/c1/note", method: .post, headers: post,
                body: Self.form([("csrf", "forged"), ("rid", "r1"), ("text", "x")]))
            XCTAssertEqual(forged.status, .forbidden)

            let beforeEdit = ISO8601DateFormatter().string(from: Date())
            try await Task.sleep(for: .milliseconds(1100))
            let edit = Self.form([
                ("csrf", csrf), ("rid", try Self.hidden(html, form: "form-edit", "rid")), ("phones", "0935 111 2222"),
            ])
            let edited = try await client.execute(uri: "/customers/c1/edit", method: .post, headers: post, body: edit)
            XCTAssertEqual(edited.status, .seeOther)
            let now = try await page()
            let details = try XCTUnwrap(now.range(of: "id=\"details\"")).upperBound
            let table = String(now[details...].prefix(while: { _ in true }).components(separatedBy: "</table>")[0])
            XCTAssertTrue(table.contains("0935 111 2222") && !table.contains("0912 345 6789"), table)
            XCTAssertTrue(now.contains("id=\"changes\""), "the old number is among the changes")
            let then = try await page("/customers/c1?asOf=\(beforeEdit)")
            XCTAssertTrue(then.contains("0912 345 6789"), "the file as the log knew it before the edit")
            XCTAssertTrue(then.contains("id=\"as-of-note\"") && !then.contains("id=\"form-call\""), "read only")
            // A call entered today about last year: the file as things stood then holds it,
            // the same file as the log knew it before it was entered does not.
            let past = Self.form([
                ("csrf", csrf), ("rid", try Self.hidden(now, form: "form-call", "rid")), ("direction", "inbound"),
                ("text", "تماس سال گذشته"), ("at", "2025-06-01T10:00"),
            ])
            let late = try await client.execute(uri: "/customers/c1/call", method: .post, headers: post, body: past)
            XCTAssertEqual(late.status, .seeOther)
            let before = try await client.execute(uri: "/customers/c1?at=2025-12-31", method: .get, headers: cookies)
            XCTAssertEqual(before.status, .notFound, "c1 was registered today: there was no file in 2025")
            let today = String(ISO8601DateFormatter().string(from: Date()).prefix(10))
            let withLate = try await page("/customers/c1?at=\(today)")
            XCTAssertTrue(withLate.contains("تماس سال گذشته") && withLate.contains("id=\"as-of-note\""))
            let believed = try await page("/customers/c1?at=\(today)&asOf=\(beforeEdit)")
            XCTAssertFalse(believed.contains("تماس سال گذشته"), "not known before it was entered")
        }
    }

    func testTheAgendaCompletesAndDefersFollowupsWithRefusalsBesideThem() async throws {
        let (daemon, c) = try company()
        let format = ISO8601DateFormatter()
        let overdue = format.string(from: Date().addingTimeInterval(-3600))
        let soon = format.string(from: Date().addingTimeInterval(2 * 86_400))
        for (id, due) in [("fu1", overdue), ("fu2", soon)] {
            let scheduled = c.call(
                "followup.schedule", #"{"followupId": "\#(id)", "customerId": "c1", "due": "\#(due)", "kind": "call"}"#,
                extra: #", "as": "maryam""#)
            XCTAssertEqual(scheduled["ok"], true, scheduled.serialized())
        }
        let app = Application(router: desk(daemon).router())
        try await app.test(.router) { client in
            let (cookies, post) = try await Self.enter(client)
            func agenda() async throws -> String {
                String(buffer: try await client.execute(uri: "/agenda", method: .get, headers: cookies).body)
            }
            var html = try await agenda()
            XCTAssertTrue(html.contains("<tr class=\"overdue\" id=\"followup-fu1\">"), html)
            XCTAssertTrue(html.contains("id=\"followup-fu2\"") && html.contains("رضا رضایی"))
            let csrf = try Self.hidden(html, form: "followup-fu1", "csrf")

            let done = try await client.execute(
                uri: "/followups/fu1/complete", method: .post, headers: post,
                body: Self.form([("csrf", csrf), ("rid", "r-complete-1")]))
            XCTAssertEqual(done.status, .seeOther)
            html = try await agenda()
            XCTAssertFalse(html.contains("id=\"followup-fu1\""), "completed, off the agenda")

            let earlier = try await client.execute(
                uri: "/followups/fu2/defer", method: .post, headers: post,
                body: Self.form([("csrf", csrf), ("rid", "r-defer-1"), ("to", "2020-01-01T10:00")]))
            XCTAssertEqual(earlier.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: earlier.body).contains("id=\"followup-fu2-error\""), "the refusal beside it")
            let later = DateFormatter()
            later.dateFormat = "yyyy-MM-dd'T'HH:mm"
            later.timeZone = TimeZone(identifier: "Asia/Tehran")
            let deferred = try await client.execute(
                uri: "/followups/fu2/defer", method: .post, headers: post,
                body: Self.form([
                    ("csrf", csrf), ("rid", "r-defer-2"), ("to", later.string(from: Date().addingTimeInterval(3 * 86_400))),
                ]))
            XCTAssertEqual(deferred.status, .seeOther)
            html = try await agenda()
            let list = String(html[try XCTUnwrap(html.range(of: "id=\"deferred\"")).lowerBound...])
            XCTAssertTrue(list.prefix(400).contains("رضا رضایی"), "deferred, it comes back on the list")
            let forged = try await client.execute(
                uri: "/followups/fu2/complete", method: .post, headers: post,
                body: Self.form([("csrf", "forged"), ("rid", "r-x")]))
            XCTAssertEqual(forged.status, .forbidden)
        }
    }

    func testAPaymentFromTheFileLowersTheBalanceAndAnOverpaymentIsRefusedOnTheAmount() async throws {
        let (daemon, c) = try company()
        XCTAssertEqual(
            c.call("product.define", #"{"productId": "printer", "name": "چاپگر لیزری", "unitPrice": {"amount": 250000000, "currency": "IRR"}}"#)["ok"],
            true)
        let issued = c.call(
            "invoice.issue",
            #"{"invoiceId": "i1", "customerId": "c1", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2030-01-01T00:00:00Z"}"#,
            extra: #", "as": "maryam""#)
        XCTAssertEqual(issued["ok"], true, issued.serialized())
        let app = Application(router: desk(daemon).router())
        try await app.test(.router) { client in
            let (cookies, post) = try await Self.enter(client)
            var html = String(buffer: try await client.execute(uri: "/customers/c1", method: .get, headers: cookies).body)
            XCTAssertTrue(html.contains("<option value=\"i1\">i1 — 250,000,000</option>"), "the open invoice to pay")
            let csrf = try Self.hidden(html, form: "form-payment", "csrf")
            let paid = try await client.execute(
                uri: "/customers/c1/payment", method: .post, headers: post,
                body: Self.form([
                    ("csrf", csrf), ("rid", try Self.hidden(html, form: "form-payment", "rid")), ("invoiceId", "i1"),
                    ("amount", "۱۰۰٬۰۰۰٬۰۰۰"), ("method", "transfer"),
                ]))
            XCTAssertEqual(paid.status, .seeOther)
            html = String(buffer: try await client.execute(uri: "/customers/c1", method: .get, headers: cookies).body)
            XCTAssertTrue(html.contains("<td>250,000,000</td><td>150,000,000</td>"), "the balance went down")
            let over = try await client.execute(
                uri: "/customers/c1/payment", method: .post, headers: post,
                body: Self.form([
                    ("csrf", csrf), ("rid", "r-over"), ("invoiceId", "i1"), ("amount", "999,999,999"), ("method", "cash"),
                ]))
            XCTAssertEqual(over.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: over.body).contains("id=\"payment-amount-error\""), "refused on the amount")
            let words = try await client.execute(
                uri: "/customers/c1/payment", method: .post, headers: post,
                body: Self.form([("csrf", csrf), ("rid", "r-words"), ("invoiceId", "i1"), ("amount", "صد هزار"), ("method", "cash")]))
            XCTAssertEqual(words.status, .unprocessableContent)
            XCTAssertTrue(String(buffer: words.body).contains("id=\"payment-amount-error\""))
        }
    }
}
