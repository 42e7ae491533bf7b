import Foundation
import Hummingbird
import Importer
import JSONKit

extension Pages {
    /// The agent's day (`agent.agenda`): follow-ups due and overdue with complete and defer
    /// forms, deferred ones coming back, birthdays, quotes and support contracts running out.
    static func agenda(
        _ language: Language, user: Viewer, _ agenda: JSON, error: (String, String)?
    ) -> String {
        func text(_ value: JSON?) -> String { value?.stringValue ?? value?.intValue.map(String.init) ?? "" }
        func customer(_ item: JSON) -> HTML {
            let id = text(item["customerId"])
            let name = text(item["name"]).isEmpty ? id : text(item["name"])
            return "<a href=\"/customers/\(id)\">\(name)</a>"
        }
        let followups = HTML.join(
            (agenda["followups"]?.arrayValue ?? []).map { item in
                let id = text(item["followupId"])
                let overdue: HTML = item["overdue"] == true ? " class=\"overdue\"" : ""
                let message: HTML =
                    error?.0 == id ? "<p class=\"error\" id=\"followup-\(id)-error\">\(error?.1 ?? "")</p>" : ""
                return """
                    <tr\(overdue) id="followup-\(id)"><td>\(Pages.time(text(item["due"]), language))</td><td>\(customer(item))</td>\
                    <td>\(text(item["kind"]))</td><td>\(item["overdue"] == true ? language(.overdue) : "")</td><td>\
                    <form method="post" action="/followups/\(id)/complete"><input type="hidden" name="csrf" value="\(user.csrf)">\
                    <input type="hidden" name="rid" value="\(Sessions.token())"><button type="submit">\(language(.complete))</button></form>\
                    <form method="post" action="/followups/\(id)/defer"><input type="hidden" name="csrf" value="\(user.csrf)">\
                    <input type="hidden" name="rid" value="\(Sessions.token())"><input name="to" type="datetime-local" aria-label="\(language(.deferTo))">\
                    <button type="submit">\(language(.deferTo))</button></form>\(message)</td></tr>
                    """
            })
        let birthdays = HTML.join(
            (agenda["birthdays"]?.arrayValue ?? []).map { "<li>\(customer($0)) — \(text($0["birthday"]))</li>" })
        let quotes = HTML.join(
            (agenda["expiringQuotes"]?.arrayValue ?? []).map { quote in
                "<li>\(customer(quote)) — \(text(quote["quoteId"])) — \(Pages.amount(quote["total"]?.intValue)) — \(Pages.time(text(quote["validUntil"]), language))</li>"
            })
        let contracts = HTML.join(
            (agenda["expiringContracts"]?.arrayValue ?? []).map {
                "<li>\(customer($0)) — \(text($0["contractId"])) — \(text($0["expiresOn"]))</li>"
            })
        let deferred = HTML.join(
            (agenda["deferred"]?.arrayValue ?? []).map {
                "<li>\(customer($0)) — \(Pages.time(text($0["due"]), language)) (\(text($0["deferrals"])))</li>"
            })
        return layout(
            language(.agenda), language, user: user,
            """
            <div class="card"><h1>\(language(.agenda))</h1><table id="followups"><tr><th>\(language(.due))</th>\
            <th>\(language(.name))</th><th>\(language(.kind))</th><th></th><th></th></tr>\(followups)</table></div>
            <div class="card"><h2>\(language(.deferredBack))</h2><ul id="deferred">\(deferred)</ul></div>
            <div class="card"><h2>\(language(.birthdays))</h2><ul id="birthdays">\(birthdays)</ul></div>
            <div class="card"><h2>\(language(.expiringQuotes))</h2><ul id="quotes">\(quotes)</ul></div>
            <div class="card"><h2>\(language(.expiringContracts))</h2><ul id="contracts">\(contracts)</ul></div>
            """)
    }
}

extension FrontDesk {
    /// `/agenda`: the logged-in agent's day.
    func agendaPage(_ request: Request, error: (String, String)? = nil, status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        let answer: CRMAnswer
        do {
            answer = try await gateway.call(
                "agent.agenda", .object(["agentId": .string(session.agentId)]), as: session.agentId)
        } catch {
            return daemonDown(language)
        }
        guard case .ok(let agenda) = answer else {
            return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
        }
        let page = Pages.agenda(language, user: session.viewer, agenda, error: error)
        return remembering(FrontDesk.html(page, status: status), request)
    }

    /// A follow-up completed or deferred from the agenda; a refusal comes back beside it.
    func followupAction(_ action: String, _ request: Request, _ context: BasicRequestContext, id: String)
        async throws -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard action == "complete" || action == "defer" else {
            return FrontDesk.html(Pages.message(language, .notFound), status: .notFound)
        }
        guard let values = await postedForm(request, context, session), let rid = values["rid"] else {
            return formExpired(request)
        }
        var args: JSONObject = ["followupId": .string(id)]
        if action == "defer" {
            guard let text = values["to"].flatMap(CellValues.trimmed),
                let to = CellValues(timeZone: FrontDesk.businessZone).instant(text)
            else {
                return try await agendaPage(request, error: (id, language(.badTime)), status: .unprocessableContent)
            }
            args["to"] = .string(to)
        }
        let answer: CRMAnswer
        do {
            answer = try await gateway.call(
                "followup.\(action)", .object(args), as: session.agentId, requestId: "web-" + rid)
        } catch {
            return daemonDown(language)
        }
        switch answer {
        case .ok: return Response.redirect(to: "/agenda")
        case .refused(_, let message, _, _):
            return try await agendaPage(request, error: (id, message), status: .unprocessableContent)
        }
    }
}
