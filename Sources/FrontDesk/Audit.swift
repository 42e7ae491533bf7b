import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import Importer
import JSONKit

/// What the audit page filters the log by (`log.read`'s filters), and whose history it shows.
struct AuditFilters: Sendable {
    var stream: String?
    var actor: String?
    var type: String?
    var since: String?
    var until: String?
    var from: Int64?
    var customer: String?

    /// Events on one page.
    static let page: Int64 = 50

    /// Whether nothing narrows the log (the page then shows its latest events).
    var isEmpty: Bool { stream == nil && actor == nil && type == nil && since == nil && until == nil && from == nil }

    /// The filters as `log.read` arguments, a page of `limit` events.
    func arguments(limit: Int64) -> JSON {
        var args: JSONObject = ["limit": .int(limit)]
        if let stream { args["stream"] = .string(stream) }
        if let actor { args["actor"] = .string(actor) }
        if let type { args["type"] = .string(type) }
        if let since { args["since"] = .string(since) }
        if let until { args["until"] = .string(until) }
        if let from { args["from"] = .int(from) }
        return .object(args)
    }

    /// The filters as a query string, continuing from position `next`.
    func query(from next: Int64) -> String {
        var items: [URLQueryItem] = []
        for (name, value) in [("stream", stream), ("actor", actor), ("type", type), ("since", since), ("until", until)] {
            if let value { items.append(URLQueryItem(name: name, value: value)) }
        }
        items.append(URLQueryItem(name: "from", value: String(next)))
        var components = URLComponents()
        components.queryItems = items
        return components.percentEncodedQuery ?? ""
    }
}

extension Pages {
    /// `/audit`: the log's head and last verify, the log filtered by stream, actor, type and
    /// recorded time, and one customer's complete history of field changes.
    static func audit(
        _ language: Language, user: Viewer, _ filters: AuditFilters, status: JSON, log: JSON, history: JSON?,
        verified: Bool
    ) -> String {
        func text(_ value: JSON?) -> String { value?.stringValue ?? value?.intValue.map(String.init) ?? "" }
        let last = status["lastVerify"]
        let verify: HTML
        if let last, last != .null {
            let ok = last["ok"] == true
            verify = """
                <tr><th>\(language("آخرین بررسی زنجیره", "Last verify"))</th><td id="last-verify">\
                <strong class="\(ok ? "" : "error")">\(ok ? language("سالم", "ok") : language("خطا", "FAILED"))</strong> · \
                \(Pages.time(last["finishedAt"]?.stringValue, language)) · \(text(last["events"])) \(language("رویداد", "events")) · \
                \(language("توسط", "by")) \(text(last["by"]))\(ok ? "" : HTML(raw: " · " + HTML.text(text(last["problem"])).description))</td></tr>
                """
        } else {
            verify = "<tr><th>\(language("آخرین بررسی زنجیره", "Last verify"))</th><td id=\"last-verify\">\(language("هرگز", "never"))</td></tr>"
        }
        let done: HTML = verified ? "<p id=\"verified\">\(language("بررسی انجام شد.", "Verified."))</p>" : ""
        let types = (status["eventsByType"]?.objectValue?.keys.sorted() ?? [])
        let typeOptions = HTML.join(
            ([""] + types).map { type in
                "<option value=\"\(type)\"\(type == (filters.type ?? "") ? HTML(raw: " selected") : "")>\(type.isEmpty ? language("همه", "All") : type)</option>"
            })
        let events = log["events"]?.arrayValue ?? []
        let rows = HTML.join(
            events.map { event in
                let stream = text(event["stream"])
                var data = event["data"]?.serialized() ?? ""
                if data.count > 140 { data = String(data.prefix(140)) + "…" }
                return """
                    <tr><td>\(text(event["position"]))</td><td>\(Pages.time(event["recordedAt"]?.stringValue, language))</td>\
                    <td>\(Pages.time(event["data"]?["at"]?.stringValue, language))</td>\
                    <td><a href="/audit?stream=\(stream.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")">\(stream)</a></td>\
                    <td>\(text(event["type"]))</td><td>\(text(event["actor"]?["principal"]))</td><td dir="ltr"><code>\(data)</code></td>\
                    <td dir="ltr"><code>\(String(text(event["hash"]).prefix(12)))</code></td></tr>
                    """
            })
        let next = log["next"]?.intValue ?? 1
        let more: HTML =
            events.isEmpty ? "<p id=\"no-events\">\(language("رویدادی با این شرط‌ها نیست.", "No events match."))</p>"
            : "<p><a id=\"next-page\" href=\"/audit?\(filters.query(from: next))\">\(language("صفحه بعد", "Next page"))</a></p>"
        var changes: HTML = ""
        if let history, let customer = filters.customer {
            let items = HTML.join(
                (history["changes"]?.arrayValue ?? []).map { change in
                    """
                    <tr><td>\(Pages.time(change["at"]?.stringValue, language))</td><td>\(Pages.time(change["recordedAt"]?.stringValue, language))</td>\
                    <td>\(text(change["by"]))</td><td>\(text(change["field"]))</td><td>\(change["old"].map(Pages.plain) ?? "")</td>\
                    <td>\(change["new"].map(Pages.plain) ?? "")</td></tr>
                    """
                })
            changes = """
                <div class="card" id="customer-history"><h2>\(language("تاریخچه تغییرات", "Changes of")) <a href="/customers/\(customer)">\(customer)</a></h2>\
                <table><tr><th>\(language("زمان", "When"))</th><th>\(language("زمان ثبت", "Recorded"))</th><th>\(language("توسط", "By"))</th>\
                <th>\(language("فیلد", "Field"))</th><th>\(language("قبلی", "Old"))</th><th>\(language("جدید", "New"))</th></tr>\(items)</table></div>
                """
        }
        let verifyForm: HTML = """
            <form method="post" action="/audit/verify"><input type="hidden" name="csrf" value="\(user.csrf)">\
            <button class="primary" type="submit" id="verify-now">\(language("بررسی زنجیره هم‌اکنون", "Verify the chain now"))</button></form>
            """
        return layout(
            language("ممیزی", "Audit"), language, user: user,
            """
            <div class="card"><h1>\(language("ممیزی", "Audit"))</h1><table id="head">\
            <tr><th>\(language("آخرین موقعیت", "Head position"))</th><td>\(text(status["headPosition"]))</td></tr>\
            <tr><th>\(language("هش سر زنجیره", "Head hash"))</th><td dir="ltr"><code id="head-hash">\(text(status["headHash"]))</code></td></tr>\
            \(verify)</table>\(done)\(verifyForm)</div>
            <div class="card"><form method="get" action="/audit" class="filters">\
            <div><label for="stream">\(language("جریان", "Stream"))</label><input id="stream" name="stream" value="\(filters.stream ?? "")" dir="ltr"></div>\
            <div><label for="actor">\(language("کاربر", "Actor"))</label><input id="actor" name="actor" value="\(filters.actor ?? "")" dir="ltr"></div>\
            <div><label for="type">\(language("نوع رویداد", "Type"))</label><select id="type" name="type">\(typeOptions)</select></div>\
            <div><label for="since">\(language("از تاریخ", "Since"))</label><input id="since" name="since" type="date" value="\(filters.since ?? "")"></div>\
            <div><label for="until">\(language("تا تاریخ", "Until"))</label><input id="until" name="until" type="date" value="\(filters.until ?? "")"></div>\
            <div><label for="customer">\(language("تاریخچه مشتری", "Customer's history"))</label><input id="customer" name="customer" value="\(filters.customer ?? "")" dir="ltr"></div>\
            <button class="primary" type="submit">\(language(.show))</button></form></div>\(changes)
            <div class="card wide"><table id="events"><tr><th>#</th><th>\(language("ثبت", "Recorded"))</th><th>\(language("زمان رخداد", "At"))</th>\
            <th>\(language("جریان", "Stream"))</th><th>\(language("نوع", "Type"))</th><th>\(language("کاربر", "Actor"))</th>\
            <th>\(language("داده", "Data"))</th><th>hash</th></tr>\(rows)</table>\(more)</div>
            """)
    }

    /// A changed value as text: strings as they are, lists joined, anything else as JSON.
    static func plain(_ value: JSON) -> String {
        switch value {
        case .string(let s): s
        case .null: "—"
        case .array(let items) where items.allSatisfy({ $0.stringValue != nil }):
            items.compactMap(\.stringValue).joined(separator: "، ")
        default: value.serialized()
        }
    }
}

extension FrontDesk {
    /// `/audit`: for managers and auditors (the daemon refuses agents the raw log).
    func auditPage(_ request: Request, verified: Bool = false) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard session.role.readsCompany else {
            return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
        }
        func parameter(_ name: String) -> String? { FrontDesk.parameter(request, name) }
        let filters = AuditFilters(
            stream: parameter("stream"), actor: parameter("actor"), type: parameter("type"),
            since: parameter("since").flatMap(CellValuesDate.valid), until: parameter("until").flatMap(CellValuesDate.valid),
            from: parameter("from").flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }, customer: parameter("customer"))
        do {
            async let history = customerHistory(filters.customer, as: session.agentId)
            guard case .ok(let head) = try await gateway.call("system.status", .object([:]), as: session.agentId) else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
            // Unfiltered, the page opens on the latest events rather than the company's first.
            var filters = filters
            if filters.isEmpty { filters.from = max(1, (head["headPosition"]?.intValue ?? 0) - AuditFilters.page + 1) }
            guard case .ok(let events) = try await gateway.call("log.read", filters.arguments(limit: AuditFilters.page), as: session.agentId)
            else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
            var changes: JSON?
            switch try await history {
            case .ok(let found)?: changes = found
            case .refused(_, let message, _, _)?: return FrontDesk.html(Pages.problem(language, message), status: .notFound)
            case .none: break
            }
            let page = Pages.audit(
                language, user: session.viewer, filters, status: head, log: events, history: changes, verified: verified)
            return remembering(FrontDesk.html(page), request)
        } catch {
            return daemonDown(language)
        }
    }

    /// A customer's changes (`customer.history`), when one is asked for.
    func customerHistory(_ customerId: String?, as agentId: String) async throws -> CRMAnswer? {
        guard let customerId else { return nil }
        return try await gateway.call("customer.history", .object(["customerId": .string(customerId)]), as: agentId)
    }

    /// `POST /audit/verify`: walks the chain now (`log.verify`) and shows the audit page with it.
    func auditVerify(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard await postedForm(request, context, session, writes: false) != nil else { return formExpired(request) }
        do {
            guard case .ok = try await gateway.call("log.verify", .object([:]), as: session.agentId) else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
        } catch {
            return daemonDown(language)
        }
        return Response.redirect(to: "/audit?verified=1")
    }
}
