import Foundation
import HTTPTypes
import Hummingbird
import Importer
import JSONKit
import EventStore

/// The front desk's routes: login and logout, search, the customer file, the agenda, the deals
/// board, the dashboard and the audit page; every answer from the daemon, asked `as` the person
/// logged in.
public struct FrontDesk: Sendable {
    /// Logins (DIR/web-users.json).
    public let users: WebUsers
    /// The daemon.
    public let gateway: DaemonGateway
    /// Who is logged in.
    public let sessions: Sessions
    /// Failed logins, per user name.
    public let throttle: LoginThrottle
    /// Whether the browser reaches us over TLS (cookies are then `Secure`).
    public let secure: Bool

    /// A front desk over `users` and the daemon behind `gateway`.
    public init(
        users: WebUsers, gateway: DaemonGateway, sessions: Sessions = Sessions(), throttle: LoginThrottle = LoginThrottle(),
        secure: Bool = false
    ) {
        self.users = users
        self.gateway = gateway
        self.sessions = sessions
        self.throttle = throttle
        self.secure = secure
    }

    static let sessionCookie = "crmd_session"
    static let loginCookie = "crmd_login"
    static let languageCookie = "crmd_lang"

    /// The router with every route and the security headers on every response.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: SecurityHeaders())
        router.get("/assets/crmd.css") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "public, max-age=3600"],
                body: .init(byteBuffer: ByteBuffer(string: Pages.stylesheet)))
        }
        router.get("/") { _, _ in Response.redirect(to: "/search") }
        router.get("/login") { request, _ in try await self.loginPage(request) }
        router.post("/login") { request, context in try await self.login(request, context) }
        router.post("/logout") { request, context in try await self.logout(request, context) }
        router.get("/search") { request, _ in try await self.search(request) }
        router.get("/customers/{id}") { request, context in
            try await self.customerPage(request, id: context.parameters.get("id") ?? "")
        }
        router.get("/agenda") { request, _ in try await self.agendaPage(request) }
        router.post("/followups/{id}/{action}") { request, context in
            try await self.followupAction(
                context.parameters.get("action") ?? "", request, context, id: context.parameters.get("id") ?? "")
        }
        router.get("/deals") { request, _ in try await self.dealsPage(request) }
        router.post("/deals/{id}/{action}") { request, context in
            try await self.dealAction(
                context.parameters.get("action") ?? "", request, context, id: context.parameters.get("id") ?? "")
        }
        router.get("/dashboard") { request, _ in try await self.dashboardPage(request) }
        router.get("/dashboard/{file}") { request, context in
            try await self.dashboardCSV(request, file: context.parameters.get("file") ?? "")
        }
        router.get("/audit") { request, _ in
            try await self.auditPage(request, verified: request.uri.queryParameters["verified"] == "1")
        }
        router.post("/audit/verify") { request, context in try await self.auditVerify(request, context) }
        router.get("/customers/{id}/quote") { request, context in
            try await self.quotePage(request, id: context.parameters.get("id") ?? "")
        }
        // Beside the GET of the same path: the router matches the literal segment, not `{form}`.
        router.post("/customers/{id}/quote") { request, context in
            try await self.submit(.quote, request, context, id: context.parameters.get("id") ?? "")
        }
        router.post("/customers/{id}/{form}") { request, context in
            guard let form = context.parameters.get("form").flatMap(CustomerForm.init(rawValue:)) else {
                return FrontDesk.html(Pages.message(self.language(request), .notFound), status: .notFound)
            }
            return try await self.submit(form, request, context, id: context.parameters.get("id") ?? "")
        }
        return router
    }

    // MARK: Helpers

    /// The page's language: `?lang=` when given (and remembered in a cookie), else the cookie, else Persian.
    func language(_ request: Request) -> Language {
        if let asked = request.uri.queryParameters["lang"].flatMap({ Language(rawValue: String($0)) }) { return asked }
        return request.cookies[FrontDesk.languageCookie].flatMap { Language(rawValue: $0.value) } ?? .fa
    }

    static func html(_ page: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    /// Remembers an explicit language choice.
    func remembering(_ response: Response, _ request: Request) -> Response {
        guard let asked = request.uri.queryParameters["lang"].flatMap({ Language(rawValue: String($0)) }) else {
            return response
        }
        var response = response
        response.setCookie(
            Cookie(name: FrontDesk.languageCookie, value: asked.rawValue, path: "/", secure: secure, sameSite: .strict))
        return response
    }

    /// The live session of the request, if any.
    func session(_ request: Request) async -> (id: String, session: Sessions.Session)? {
        guard let id = request.cookies[FrontDesk.sessionCookie]?.value,
            let session = await sessions.session(id)
        else { return nil }
        return (id, session)
    }

    /// A value of the address bar, trimmed; nil when absent or blank.
    static func parameter(_ request: Request, _ name: String) -> String? {
        request.uri.queryParameters[Substring(name)].flatMap { CellValues.trimmed(String($0)) }
    }

    /// The values of a form posted in `session`; nil when it lacks the session's CSRF token or,
    /// for a write, its request id (the caller answers with `formExpired`).
    func postedForm(_ request: Request, _ context: BasicRequestContext, _ session: Sessions.Session, writes: Bool = true)
        async -> [String: String]?
    {
        guard let values = try? await URLEncodedFormDecoder().decode([String: String].self, from: request, context: context),
            values["csrf"] == session.csrf
        else { return nil }
        guard !writes || !(values["rid"] ?? "").isEmpty else { return nil }
        return values
    }

    /// The answer to a form that is not this session's (forged, or from before a logout).
    func formExpired(_ request: Request) -> Response {
        FrontDesk.html(Pages.message(language(request), .formExpired), status: .forbidden)
    }

    /// The page the daemon's silence deserves: a clear word, and a retry every five seconds.
    func daemonDown(_ language: Language) -> Response {
        var response = FrontDesk.html(Pages.message(language, .daemonDown, .daemonDownDetail, refresh: 5), status: .serviceUnavailable)
        response.headers[.retryAfter] = "5"
        return response
    }

    // MARK: Login

    func loginPage(_ request: Request, error: Words? = nil, status: HTTPResponse.Status = .ok, username: String = "")
        async throws -> Response
    {
        let language = language(request)
        if error == nil, await session(request) != nil { return Response.redirect(to: "/search") }
        let token = Sessions.token()
        var response = FrontDesk.html(
            Pages.login(language, csrf: token, error: error.map { language($0) }, username: username), status: status)
        response.setCookie(
            Cookie(name: FrontDesk.loginCookie, value: token, path: "/login", secure: secure, sameSite: .strict))
        return remembering(response, request)
    }

    struct LoginForm: Decodable {
        var username: String
        var password: String
        var code: String?
        var csrf: String
    }

    func login(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let language = language(request)
        guard let form = try? await URLEncodedFormDecoder().decode(LoginForm.self, from: request, context: context),
            let expected = request.cookies[FrontDesk.loginCookie]?.value, !expected.isEmpty, form.csrf == expected
        else {
            return FrontDesk.html(Pages.message(language, .formExpired), status: .forbidden)
        }
        let name = form.username.trimmingCharacters(in: .whitespaces)
        guard !(await throttle.isLocked(name)) else {
            return try await loginPage(request, error: .loginLocked, status: .tooManyRequests, username: name)
        }
        let user: WebUser
        do {
            user = try users.verify(name, password: form.password, code: form.code)
        } catch {
            let wait = await throttle.failed(name)
            try await Task.sleep(for: .seconds(wait))
            return try await loginPage(request, error: .loginFailed, status: .unauthorized, username: name)
        }
        // Someone who left the company cannot act as an agent any more: the daemon says so. Its
        // answer to the company's status tells managers (and auditors) from agents.
        let role: StaffRole
        do {
            switch try await gateway.call("agent.view", .object(["agentId": .string(user.agentId)]), as: user.agentId) {
            case .ok: break
            case .refused:
                _ = await throttle.failed(name)
                return try await loginPage(request, error: .loginFailed, status: .unauthorized, username: name)
            }
            if user.role == StaffRole.auditor.rawValue {
                role = .auditor
            } else if case .ok = try await gateway.call("system.status", .object([:]), as: user.agentId) {
                role = .manager
            } else {
                role = .agent
            }
        } catch {
            return daemonDown(language)
        }
        await throttle.succeeded(name)
        let id = await sessions.start(user.agentId, role: role)
        var response = Response.redirect(to: "/search")
        response.setCookie(
            Cookie(name: FrontDesk.sessionCookie, value: id, path: "/", secure: secure, httpOnly: true, sameSite: .strict))
        response.setCookie(Cookie(name: FrontDesk.loginCookie, value: "", maxAge: 0, path: "/login", sameSite: .strict))
        return response
    }

    func logout(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        guard let (id, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard await postedForm(request, context, session, writes: false) != nil else { return formExpired(request) }
        await sessions.end(id)
        var response = Response.redirect(to: "/login")
        response.setCookie(
            Cookie(name: FrontDesk.sessionCookie, value: "", maxAge: 0, path: "/", secure: secure, sameSite: .strict))
        return response
    }

    // MARK: Pages

    /// What a search box text asks for: a phone, an email, or words of a name.
    static func criterion(_ query: String) -> JSON {
        let digits = query.unicodeScalars.filter { CharacterSet.decimalDigits.contains($0) }.count
        if digits >= 4, query.unicodeScalars.allSatisfy({ CharacterSet.decimalDigits.contains($0) || " +-()".unicodeScalars.contains($0) }) {
            return .object(["phone": .string(query)])
        }
        if query.contains("@") { return .object(["email": .string(query)]) }
        return .object(["text": .string(query)])
    }

    func search(_ request: Request) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        let user = session.viewer
        let query = String(request.uri.queryParameters["q"] ?? "").trimmingCharacters(in: .whitespaces)
        guard !query.isEmpty else {
            return remembering(FrontDesk.html(Pages.search(language, user: user, query: "", customers: nil)), request)
        }
        let answer: CRMAnswer
        do { answer = try await gateway.call("customer.find", FrontDesk.criterion(query), as: session.agentId) } catch {
            return daemonDown(language)
        }
        var customers: [JSON] = []
        if case .ok(let result) = answer { customers = result["customers"]?.arrayValue ?? [] }
        if customers.count == 1, let id = customers[0]["customerId"]?.stringValue {
            return Response.redirect(to: "/customers/\(id)")
        }
        return remembering(FrontDesk.html(Pages.search(language, user: user, query: query, customers: customers)), request)
    }

    /// The zone business times typed into forms are in.
    static let businessZone = TimeZone(identifier: "Asia/Tehran")!

    /// The customer file; with `?asOf=DATE` as the log knew it then, with `?at=DATE` as things
    /// stood then by everything known (both: what was believed then about that day); read only.
    func customerPage(
        _ request: Request, id: String, state: FormState? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        var args: JSONObject = ["customerId": .string(id)]
        let asOf = request.uri.queryParameters["asOf"].map(String.init).flatMap { CellValuesDate.valid($0) }
        let at = request.uri.queryParameters["at"].map(String.init).flatMap { CellValuesDate.valid($0) }
        if let asOf { args["asOf"] = .string(asOf) }
        if let at { args["at"] = .string(at) }
        args["changes"] = true
        let answer: CRMAnswer
        do {
            answer = try await gateway.call("customer.get", .object(args), as: session.agentId)
        } catch {
            return daemonDown(language)
        }
        switch answer {
        case .ok(let file):
            let page = Pages.customer(
                language, user: session.viewer, file, asOf: asOf, at: at, state: state,
                changes: file["changes"]?.arrayValue ?? [])
            return remembering(FrontDesk.html(page, status: status), request)
        case .refused(let code, _, _, _):
            // Not theirs and not there read the same: the page does not tell which customers exist.
            let status: HTTPResponse.Status = code == "not_found" ? .notFound : .forbidden
            return FrontDesk.html(Pages.message(language, status == .notFound ? .notFound : .forbidden), status: status)
        }
    }
}

/// A point in time from the address bar: a date (`2026-03-01`) or an RFC 3339 time, else nothing.
enum CellValuesDate {
    static func valid(_ text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        return Timestamp(rfc3339: trimmed) != nil ? trimmed : nil
    }
}

/// Headers every response carries: no script at all, no framing, no referrer, no sniffing.
struct SecurityHeaders: RouterMiddleware {
    typealias Context = BasicRequestContext
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[SecurityHeaders.frameOptions] = "DENY"
        response.headers[SecurityHeaders.referrerPolicy] = "no-referrer"
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}
