import Foundation
import Hummingbird
import Importer
import JSONKit

/// What a deal's buttons on the board do: move it to another stage, win it, lose it.
enum DealAction: String, Sendable {
    case move, win, lose

    /// The daemon op.
    var op: String { "deal.\(rawValue)" }
}

extension Pages {
    /// Reasons a deal is lost, as `deal.lose` knows them, with their words.
    static let lostReasons: [(String, String, String)] = [
        ("price", "قیمت", "Price"), ("competitor", "رقیب", "Competitor"), ("no_budget", "نبود بودجه", "No budget"),
        ("no_need", "نیاز ندارد", "No need"), ("no_response", "پاسخ نداد", "No response"),
        ("timing", "زمان مناسب نیست", "Timing"), ("other", "دیگر", "Other"),
    ]

    /// `/deals`: a pipeline's board (`deal.board`), a column per stage, each open deal with
    /// forms to move, win or lose it (buttons, not dragging, so a keyboard does it too).
    static func deals(
        _ language: Language, user: Viewer, _ board: JSON, agent: String, error: (String, String)?
    ) -> String {
        func text(_ value: JSON?) -> String { value?.stringValue ?? "" }
        let pipelineId = text(board["pipelineId"])
        let columns = board["stages"]?.arrayValue ?? []
        let stages = columns.map { text($0["stage"]) }.filter { $0 != "won" && $0 != "lost" }
        let reasons = HTML.join(
            lostReasons.map { "<option value=\"\($0.0)\">\(language == .fa ? $0.1 : $0.2)</option>" })
        func hidden(_ rid: Bool = true) -> HTML {
            """
            <input type="hidden" name="csrf" value="\(user.csrf)"><input type="hidden" name="pipeline" value="\(pipelineId)">\
            \(rid ? HTML(raw: "<input type=\"hidden\" name=\"rid\" value=\"\(Sessions.token())\">") : "")
            """
        }
        func card(_ deal: JSON, stage: String) -> HTML {
            let id = text(deal["dealId"])
            let customer = text(deal["customerId"])
            let name = text(deal["name"]).isEmpty ? customer : text(deal["name"])
            let value = deal["value"]?["amount"]?.intValue
            let message: HTML = error?.0 == id ? "<p class=\"error\" id=\"deal-\(id)-error\">\(error?.1 ?? "")</p>" : ""
            var forms: HTML = ""
            if user.role.writes, text(deal["outcome"]) == "open" {
                let moves = HTML.join(
                    stages.filter { $0 != stage }.map { "<option value=\"\($0)\">\($0)</option>" })
                forms = """
                    <form method="post" action="/deals/\(id)/move">\(hidden())<select name="stage" aria-label="\(language("مرحله", "Stage"))">\(moves)</select>\
                    <button type="submit">\(language("انتقال", "Move"))</button></form>\
                    <form method="post" action="/deals/\(id)/win">\(hidden())<button type="submit">\(language("برنده شد", "Won"))</button></form>\
                    <form method="post" action="/deals/\(id)/lose">\(hidden())<select name="reason" aria-label="\(language("دلیل", "Reason"))">\(reasons)</select>\
                    <button type="submit">\(language("از دست رفت", "Lost"))</button></form>
                    """
            }
            return """
                <div class="deal" id="deal-\(id)"><a href="/customers/\(customer)">\(name)</a> <span class="muted">\(id)</span><br>\
                \(Pages.amount(value)) · \(text(deal["agentId"])) · <span class="muted">\(String(deal["daysInStage"]?.intValue ?? 0)) \(language("روز", "days"))</span>\
                \(forms)\(message)</div>
                """
        }
        let stageColumns = HTML.join(
            columns.map { column in
                let stage = text(column["stage"])
                let deals = HTML.join((column["deals"]?.arrayValue ?? []).map { card($0, stage: stage) })
                let total = column["value"]?["IRR"]?.intValue
                return """
                    <section class="column card" id="stage-\(stage)"><h2>\(stage) <span class="muted">(\(String(column["count"]?.intValue ?? 0)) · \(Pages.amount(total)))</span></h2>\(deals)</section>
                    """
            })
        let pipelines = HTML.join(
            (board["pipelines"]?.arrayValue ?? []).compactMap(\.stringValue).map { id in
                "<option value=\"\(id)\"\(id == pipelineId ? HTML(raw: " selected") : "")>\(id)</option>"
            })
        let agentFilter: HTML =
            user.role.readsCompany
            ? """
            <div><label for="agent">\(language(.agent))</label><input id="agent" name="agent" value="\(agent)"></div>
            """ : ""
        return layout(
            language("قیف فروش", "Deals"), language, user: user,
            """
            <div class="card"><h1>\(language("قیف فروش", "Deals"))</h1><form method="get" action="/deals" class="filters">\
            <div><label for="pipeline">\(language("قیف", "Pipeline"))</label><select id="pipeline" name="pipeline">\(pipelines)</select></div>\
            \(agentFilter)<button class="primary" type="submit">\(language(.show))</button></form></div>
            <div class="board">\(stageColumns)</div>
            """)
    }
}

extension FrontDesk {
    /// `/deals`: the board of `?pipeline=` (default: the default pipeline); managers may narrow
    /// it to `?agent=`, agents see their own deals only (the daemon narrows it).
    func dealsPage(_ request: Request, error: (String, String)? = nil, pipeline: String? = nil, status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        var args: JSONObject = [:]
        let pipeline = pipeline ?? FrontDesk.parameter(request, "pipeline")
        let agent = FrontDesk.parameter(request, "agent")
        if let pipeline { args["pipelineId"] = .string(pipeline) }
        if let agent { args["agentId"] = .string(agent) }
        let answer: CRMAnswer
        do { answer = try await gateway.call("deal.board", .object(args), as: session.agentId) } catch {
            return daemonDown(language)
        }
        switch answer {
        case .ok(let board):
            let page = Pages.deals(language, user: session.viewer, board, agent: agent ?? "", error: error)
            return remembering(FrontDesk.html(page, status: status), request)
        case .refused(_, let message, _, _):
            return FrontDesk.html(Pages.problem(language, message), status: .unprocessableContent)
        }
    }

    /// A deal moved, won or lost from the board; a refusal comes back on the deal's card.
    func dealAction(_ action: String, _ request: Request, _ context: BasicRequestContext, id: String)
        async throws -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard let action = DealAction(rawValue: action) else {
            return FrontDesk.html(Pages.message(language, .notFound), status: .notFound)
        }
        guard let values = await postedForm(request, context, session), let rid = values["rid"] else {
            return formExpired(request)
        }
        var args: JSONObject = ["dealId": .string(id)]
        switch action {
        case .move: args["stage"] = .string(values["stage"] ?? "")
        case .lose: args["reason"] = .string(values["reason"] ?? "")
        case .win: break
        }
        let answer: CRMAnswer
        do { answer = try await gateway.call(action.op, .object(args), as: session.agentId, requestId: "web-" + rid) } catch {
            return daemonDown(language)
        }
        let pipeline = values["pipeline"].flatMap(CellValues.trimmed)
        switch answer {
        case .ok:
            let query = pipeline.flatMap { $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) }.map { "?pipeline=" + $0 } ?? ""
            return Response.redirect(to: "/deals" + query)
        case .refused(let code, let message, _, _):
            if code == "forbidden" || code == "not_found" {
                let words: Words = code == "not_found" ? .notFound : .forbidden
                return FrontDesk.html(Pages.message(language, words), status: code == "not_found" ? .notFound : .forbidden)
            }
            return try await dealsPage(request, error: (id, message), pipeline: pipeline, status: .unprocessableContent)
        }
    }
}
