import EventStore
import Foundation
import HTTPTypes
import Hummingbird
import Importer
import JSONKit

/// The period, branch and agent a manager's dashboard is filtered by.
struct DashboardFilters: Sendable {
    /// The first and last day of the period (Gregorian dates, as a date field gives them).
    var from: String
    var to: String
    /// Only this branch's and this agent's figures, when given.
    var branch: String?
    var agent: String?
    /// Months are Persian on the Persian side and Gregorian on the English side.
    var calendar: String

    /// The period's bounds as the reports take them: from the first day's start to the last day's end.
    var fromTime: String { from + "T00:00:00+03:30" }
    var toTime: String { Pages.nextDay(to) + "T00:00:00+03:30" }

    /// The filters as a query string, for the CSV links.
    var query: String {
        var items = [URLQueryItem(name: "from", value: from), URLQueryItem(name: "to", value: to)]
        if let branch { items.append(URLQueryItem(name: "branch", value: branch)) }
        if let agent { items.append(URLQueryItem(name: "agent", value: agent)) }
        var components = URLComponents()
        components.queryItems = items
        return components.percentEncodedQuery ?? ""
    }
}

/// A table of the dashboard: what the page shows and what its CSV download holds.
struct DashboardTable: Sendable {
    var columns: [String]
    var rows: [[String]]
    /// The amounts a chart draws, a bar per row (sales by month).
    var bars: [Int64] = []
}

/// The sections of the dashboard, one manager's question each, in the order the page shows them.
enum DashboardSection: String, CaseIterable, Sendable {
    case sales, products, quotes, funnel, daily, receivables, dormant, workload, branches, targets

    /// Its heading.
    func title(_ language: Language) -> String {
        switch self {
        case .sales: language("فروش به تفکیک ماه", "Sales by month")
        case .products: language("پرفروش‌ترین کالاها", "Products in demand")
        case .quotes: language("تبدیل اعلام قیمت به خرید", "Quotes that became sales")
        case .funnel: language("قیف فروش", "Sales funnel")
        case .daily: language("گزارش روز آخر دوره", "The period's last day")
        case .receivables: language("مطالبات به تفکیک کارشناس", "Receivables by agent")
        case .dormant: language("مشتریان بی‌تماس (۹۰ روز)", "Dormant customers (90 days)")
        case .workload: language("کارهای هفت روز آینده", "Work planned for the next 7 days")
        case .branches: language("شعبه‌ها", "Branches")
        case .targets: language("اهداف ماه", "Targets of the month")
        }
    }

    /// The daemon queries behind it.
    func queries(_ f: DashboardFilters, now: Date) -> [(op: String, args: JSON)] {
        let period: JSONObject = ["from": .string(f.fromTime), "to": .string(f.toTime)]
        func with(_ extra: JSONObject) -> JSON { .object(period.with(extra)) }
        var agentOnly: JSONObject = [:]
        if let agent = f.agent { agentOnly["agentId"] = .string(agent) }
        switch self {
        case .sales:
            return [("report.sales", with(["groupBy": .array(["month", "agent", "branch"].map(JSON.string)), "calendar": .string(f.calendar)]))]
        case .products:
            return [("report.sales", with(["groupBy": .array(["product", "agent", "branch"].map(JSON.string))]))]
        case .quotes:
            return [("report.quotes", .object(period))]
        case .funnel:
            var args = agentOnly
            if let branch = f.branch { args["branchId"] = .string(branch) }
            return [("funnel.report", with(args))]
        case .daily:
            return [("report.daily", .object(["date": .string(f.to), "timeZone": "Asia/Tehran"]))]
        case .receivables:
            return [("report.receivables", .object(agentOnly.with(["until": .string(f.toTime)])))]
        case .dormant:
            return [("report.dormant", .object(agentOnly.with(["days": 90])))]
        case .workload:
            let week = Timestamp(Date(timeIntervalSince1970: now.timeIntervalSince1970 + 7 * 86_400))
            return [("report.workload", .object(["from": .string(Timestamp(now).rfc3339), "to": .string(week.rfc3339)]))]
        case .branches:
            return [("report.branches", .object(period))]
        case .targets:
            return [("report.targets", .object(["period": .string(Pages.persianMonth(of: f.to)), "calendar": "persian"]))]
        }
    }

    /// Its table from the queries' answers, narrowed to the branch and agent asked for.
    func table(_ language: Language, _ f: DashboardFilters, _ answers: [JSON]) -> DashboardTable {
        let answer = answers.first ?? .null
        func text(_ value: JSON?) -> String {
            switch value {
            case .string(let s)?: s
            case .int(let n)?: String(n)
            case .double(let d)?: String(format: "%.1f", d)
            default: ""
            }
        }
        func rials(_ amounts: JSON?) -> String { Pages.amount(amounts?["IRR"]?.intValue ?? 0) }
        func kept(_ group: JSON?) -> Bool {
            (f.agent.map { group?["agent"]?.stringValue == $0 } ?? true)
                && (f.branch.map { group?["branch"]?.stringValue == $0 } ?? true)
        }
        func summed(_ dimension: String) -> [(String, Int64, Int64, Int64)] {
            var totals: [String: (Int64, Int64, Int64)] = [:]
            for row in answer["rows"]?.arrayValue ?? [] where kept(row["group"]) {
                let key = row["group"]?[dimension]?.stringValue ?? ""
                var total = totals[key] ?? (0, 0, 0)
                total.0 += row["count"]?.intValue ?? 0
                total.1 += row["amount"]?["IRR"]?.intValue ?? 0
                total.2 += row["quantity"]?.intValue ?? 0
                totals[key] = total
            }
            return totals.map { ($0.key, $0.value.0, $0.value.1, $0.value.2) }
        }
        switch self {
        case .sales:
            let months = summed("month").sorted { $0.0 < $1.0 }
            return DashboardTable(
                columns: [language("ماه", "Month"), language("فاکتورها", "Invoices"), language("مبلغ (ریال)", "Amount (IRR)")],
                rows: months.map { [Pages.monthName($0.0, language), String($0.1), Pages.amount($0.2)] },
                bars: months.map(\.2))
        case .products:
            return DashboardTable(
                columns: [language("کالا", "Product"), language("تعداد", "Quantity"), language("مبلغ (ریال)", "Amount (IRR)")],
                rows: summed("product").sorted { ($0.2, $0.0) > ($1.2, $1.0) }.map { [$0.0, String($0.3), Pages.amount($0.2)] })
        case .quotes:
            return DashboardTable(
                columns: [
                    language("مشتریان با اعلام قیمت", "Customers quoted"), language("خریدار شدند", "Became customers"),
                    language("درصد", "Percent"),
                ],
                rows: [[text(answer["quotedCustomers"]), text(answer["becameCustomers"]), text(answer["percent"])]])
        case .funnel:
            return DashboardTable(
                columns: [
                    language("مرحله", "Stage"), language("ورود", "Entered"), language("خروج", "Left"),
                    language("از دست رفته", "Lost"), language("درصد گذر", "Conversion %"),
                    language("میانه روزها", "Median days"),
                ],
                rows: (answer["stages"]?.arrayValue ?? []).map { stage in
                    ["stage", "entered", "left", "lost", "conversionToNext", "medianDaysInStage"].map { text(stage[$0]) }
                })
        case .daily:
            return DashboardTable(
                columns: [
                    language("تاریخ", "Date"), language("تماس‌ها", "Calls"), language("تماس منجر به سفارش", "Calls to orders"),
                    language("درصد", "Percent"), language("سفارش‌ها", "Orders"), language("اعلام قیمت", "Quotes"),
                    language("تعویق‌ها", "Deferrals"),
                ],
                rows: [
                    [
                        Pages.day(f.to, language), text(answer["calls"]), text(answer["callsLeadingToOrder"]),
                        text(answer["callOrderPercent"]), text(answer["orders"]), text(answer["quotes"]),
                        text(answer["deferrals"]),
                    ]
                ])
        case .receivables:
            var byAgent: [String: (count: Int, open: Int64, overdue: Int64)] = [:]
            for invoice in answer["invoices"]?.arrayValue ?? [] where invoice["currency"]?.stringValue == "IRR" {
                let agent = invoice["agentId"]?.stringValue ?? ""
                var total = byAgent[agent] ?? (0, 0, 0)
                total.count += 1
                total.open += invoice["open"]?.intValue ?? 0
                if invoice["overdue"] == true { total.overdue += invoice["open"]?.intValue ?? 0 }
                byAgent[agent] = total
            }
            return DashboardTable(
                columns: [
                    language("کارشناس", "Agent"), language("فاکتورها", "Invoices"), language("مانده (ریال)", "Open (IRR)"),
                    language("سررسید گذشته", "Overdue"),
                ],
                rows: byAgent.sorted { ($0.value.open, $0.key) > ($1.value.open, $1.key) }.map {
                    [$0.key, String($0.value.count), Pages.amount($0.value.open), Pages.amount($0.value.overdue)]
                })
        case .dormant:
            return DashboardTable(
                columns: [
                    language("مشتری", "Customer"), language("نام", "Name"), language("کارشناس", "Agent"),
                    language("آخرین تماس", "Last contact"), language("نتیجه", "Outcome"), language("روز", "Days"),
                ],
                rows: (answer["customers"]?.arrayValue ?? []).map { customer in
                    [
                        text(customer["customerId"]), text(customer["name"]), text(customer["agentId"]),
                        Pages.time(customer["lastContact"]?["at"]?.stringValue, language),
                        text(customer["lastContact"]?["outcome"]), text(customer["daysSince"]),
                    ]
                })
        case .workload:
            return DashboardTable(
                columns: [language("کارشناس", "Agent"), language("همه", "Total"), language("به تفکیک نوع", "By kind")],
                rows: (answer["agents"]?.arrayValue ?? []).filter { row in f.agent.map { row["agentId"]?.stringValue == $0 } ?? true }
                    .map { agent in
                        let kinds = agent["byKind"]?.objectValue.map { object in
                            object.keys.sorted().map { "\($0): \(text(object[$0]))" }.joined(separator: "، ")
                        }
                        return [text(agent["agentId"]), text(agent["total"]), kinds ?? ""]
                    })
        case .branches:
            return DashboardTable(
                columns: [
                    language("شعبه", "Branch"), language("نام", "Name"), language("فروش", "Sales"),
                    language("مبلغ (ریال)", "Amount (IRR)"), language("معامله‌های راکد", "Stalled deals"),
                    language("وصولی مورد انتظار", "Expected receipts"),
                ],
                rows: (answer["branches"]?.arrayValue ?? []).filter { row in f.branch.map { row["branchId"]?.stringValue == $0 } ?? true }
                    .map { branch in
                        [
                            text(branch["branchId"]), text(branch["name"]), text(branch["sales"]), rials(branch["salesAmount"]),
                            String(branch["stalledDeals"]?.arrayValue?.count ?? 0), rials(branch["expectedReceipts"]),
                        ]
                    })
        case .targets:
            return DashboardTable(
                columns: [
                    language("دامنه", "Scope"), language("شناسه", "Id"), language("هدف (ریال)", "Target"),
                    language("محقق", "Actual"), language("درصد", "Percent"),
                ],
                rows: (answer["targets"]?.arrayValue ?? []).map { target in
                    [
                        text(target["scope"]), text(target["scopeId"]), Pages.amount(target["amount"]?["amount"]?.intValue),
                        Pages.amount(target["actual"]?["amount"]?.intValue), text(target["percent"]),
                    ]
                })
        }
    }
}

extension Pages {
    static let persianMonths = [
        "فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن", "اسفند",
    ]
    static let englishMonths = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// A report's month key (`1405-01` Persian, `2026-03` Gregorian) as people say it.
    static func monthName(_ key: String, _ language: Language) -> String {
        let parts = key.split(separator: "-")
        guard parts.count == 2, let month = Int(parts[1]), (1...12).contains(month) else { return key }
        return language == .fa
            ? persianDigits("\(persianMonths[month - 1]) \(parts[0])") : "\(englishMonths[month - 1]) \(parts[0])"
    }

    /// Western digits written as Persian ones.
    static func persianDigits(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            // ۰ (U+06F0) is where Persian digits begin, as 0 (U+0030) is for Latin ones.
            out.append(("0"..."9").contains(scalar) ? Unicode.Scalar(scalar.value - 0x30 + 0x06F0)! : scalar)
        }
        return String(out)
    }

    /// The day after a Gregorian date (`2026-03-20` → `2026-03-21`).
    static func nextDay(_ date: String) -> String {
        guard let time = Timestamp(rfc3339: date) else { return date }
        return String(Timestamp(microsecondsSince1970: time.microsecondsSince1970 + 86_400_000_000).rfc3339.prefix(10))
    }

    /// The Persian month (`1405-01`) a Gregorian date falls in.
    static func persianMonth(of date: String) -> String {
        guard let days = days(date) else { return "" }
        let g = Clock.gregorian(days: days)
        let j = Clock.jalali(g.year, g.month, g.day)
        return String(format: "%04d-%02d", j.year, j.month)
    }

    /// Days since 1970-01-01 of a Gregorian date (`2026-03-21`).
    static func days(_ date: String) -> Int? {
        guard let time = Timestamp(rfc3339: date) else { return nil }
        return Int(time.microsecondsSince1970.dividedRoundingDown(by: 86_400_000_000))
    }

    /// A Gregorian date as people read it on each side.
    static func day(_ date: String, _ language: Language) -> String {
        days(date).map { Clock.day($0, language) } ?? date
    }

    /// Sales by month as a bar chart, drawn here as SVG (no script, no library): one bar per
    /// month, gridlines at round amounts, month names under the bars.
    static func salesChart(_ table: DashboardTable, _ language: Language) -> HTML {
        let amounts = table.bars
        let width = 760.0, height = 290.0, left = 70.0, bottom = 46.0, top = 30.0
        let peak = Double(max(amounts.max() ?? 0, 1))
        // A round step (1, 2 or 5 times a power of ten) giving about four gridlines.
        let raw = peak / 4
        let power = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= raw } ?? raw
        let ceiling = step * ceil(peak / step)
        let plot = height - bottom - top
        var parts: [String] = []
        var line = 0.0
        while line <= ceiling + 0.5 {
            let y = top + plot - plot * line / ceiling
            let label = Pages.amount(Int64(line / 1_000_000))
            parts.append(
                "<line class=\"grid\" x1=\"\(left)\" x2=\"\(width)\" y1=\"\(y)\" y2=\"\(y)\"/><text x=\"\(left - 6)\" y=\"\(y + 4)\" text-anchor=\"end\">\(HTML.text(language == .fa ? persianDigits(label) : label))</text>"
            )
            line += step
        }
        let slot = (width - left) / Double(max(amounts.count, 1))
        for (index, amount) in amounts.enumerated() {
            let barHeight = plot * Double(amount) / ceiling
            let x = left + slot * Double(index) + slot * 0.15
            let name = HTML.text(table.rows[index][0])
            parts.append(
                "<rect class=\"bar\" x=\"\(x)\" y=\"\(top + plot - barHeight)\" width=\"\(slot * 0.7)\" height=\"\(barHeight)\"><title>\(name): \(HTML.text(table.rows[index][2]))</title></rect>"
            )
            parts.append(
                "<text class=\"month\" x=\"\(x + slot * 0.35)\" y=\"\(height - bottom + 16 + Double(index % 2) * 14)\" text-anchor=\"middle\">\(name)</text>"
            )
        }
        let caption = language("میلیون ریال", "million rials")
        return HTML(
            raw: """
                <svg class="chart" id="sales-chart" role="img" aria-label="\(HTML.text(DashboardSection.sales.title(language)))" viewBox="0 0 \(Int(width)) \(Int(height))" direction="ltr" xmlns="http://www.w3.org/2000/svg">\
                <text x="4" y="12">\(HTML.text(caption))</text>\(parts.joined())</svg>
                """)
    }

    /// `/dashboard`: the manager's questions on one page, filters on top, each answer a table
    /// with its CSV download, sales by month also as a chart.
    static func dashboard(
        _ language: Language, user: Viewer, _ filters: DashboardFilters, tables: [(DashboardSection, DashboardTable)],
        branches: [String]
    ) -> String {
        func cells(_ row: [String], tag: String) -> HTML {
            HTML.join(row.map { HTML(raw: "<\(tag)>") + HTML.text($0) + HTML(raw: "</\(tag)>") })
        }
        let sections = HTML.join(
            tables.map { section, table in
                let shown = section == .dormant ? Array(table.rows.prefix(20)) : table.rows
                let rows = HTML.join(shown.map { "<tr>\(cells($0, tag: "td"))</tr>" })
                let more: HTML =
                    shown.count < table.rows.count
                    ? "<p class=\"muted\">\(language("و", "and")) \(String(table.rows.count - shown.count)) \(language("مورد دیگر در فایل CSV", "more in the CSV"))</p>"
                    : ""
                let chart = section == .sales ? salesChart(table, language) : ""
                return """
                    <section class="card" id="section-\(section.rawValue)"><h2>\(section.title(language))</h2>\(chart)\
                    <table class="numbers"><tr>\(cells(table.columns, tag: "th"))</tr>\(rows)</table>\(more)\
                    <p><a id="csv-\(section.rawValue)" href="/dashboard/\(section.rawValue).csv?\(filters.query)" download>\(language("دریافت CSV", "Download CSV"))</a></p></section>
                    """
            })
        let branchOptions = HTML.join(
            ([""] + branches).map { id in
                "<option value=\"\(id)\"\(id == (filters.branch ?? "") ? HTML(raw: " selected") : "")>\(id.isEmpty ? language("همه", "All") : id)</option>"
            })
        return layout(
            language("داشبورد", "Dashboard"), language, user: user,
            """
            <div class="card"><h1>\(language("داشبورد مدیر", "Manager's dashboard"))</h1>\
            <form method="get" action="/dashboard" class="filters">\
            <div><label for="from">\(language("از", "From"))</label><input id="from" name="from" type="date" value="\(filters.from)"></div>\
            <div><label for="to">\(language("تا", "To"))</label><input id="to" name="to" type="date" value="\(filters.to)"></div>\
            <div><label for="branch">\(language("شعبه", "Branch"))</label><select id="branch" name="branch">\(branchOptions)</select></div>\
            <div><label for="agent">\(language(.agent))</label><input id="agent" name="agent" value="\(filters.agent ?? "")"></div>\
            <button class="primary" type="submit">\(language(.show))</button></form>\
            <p class="muted">\(Pages.day(filters.from, language)) — \(Pages.day(filters.to, language))</p></div>
            \(sections)
            """)
    }
}

extension HTML {
    /// Two pieces one after the other.
    static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(raw: lhs.description + rhs.description) }
}

extension FrontDesk {
    /// The dashboard's filters from the address bar; the period defaults to the year up to the
    /// last recorded event (today on a live company, the end of an imported history otherwise).
    func dashboardFilters(_ request: Request, _ language: Language, as agentId: String) async throws -> DashboardFilters {
        func parameter(_ name: String) -> String? { FrontDesk.parameter(request, name) }
        func date(_ name: String) -> String? {
            parameter(name).flatMap { $0.utf8.count == 10 && Timestamp(rfc3339: $0) != nil ? $0 : nil }
        }
        var to = date("to")
        if to == nil {
            var last = Timestamp.now()
            if case .ok(let status) = try await gateway.call("system.status", .object([:]), as: agentId),
                let recorded = status["lastRecordedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)),
                recorded.microsecondsSince1970 < last.microsecondsSince1970
            {
                last = recorded
            }
            to = Clock.day(Clock.local(last).days, .en)
        }
        let end = to!
        let from =
            date("from") ?? Pages.days(end).map { Clock.day($0 - 365, .en) } ?? end
        return DashboardFilters(
            from: from, to: end, branch: parameter("branch"), agent: parameter("agent"),
            calendar: language == .fa ? "persian" : "gregorian")
    }

    /// The answers to `sections`' queries, asked of the daemon at once; nil when one is refused.
    func dashboardAnswers(_ sections: [DashboardSection], _ filters: DashboardFilters, as agentId: String)
        async throws -> [DashboardSection: [JSON]]?
    {
        let now = Date()
        return try await withThrowingTaskGroup(of: (DashboardSection, Int, CRMAnswer).self) { group in
            for section in sections {
                for (index, query) in section.queries(filters, now: now).enumerated() {
                    group.addTask { (section, index, try await self.gateway.call(query.op, query.args, as: agentId)) }
                }
            }
            var answers: [DashboardSection: [JSON]] = [:]
            for try await (section, index, answer) in group {
                guard case .ok(let result) = answer else { return nil }
                var list = answers[section] ?? []
                while list.count <= index { list.append(.null) }
                list[index] = result
                answers[section] = list
            }
            return answers
        }
    }

    /// `/dashboard`: for managers (and auditors); an agent is refused by the daemon.
    func dashboardPage(_ request: Request) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard session.role.readsCompany else {
            return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
        }
        do {
            let filters = try await dashboardFilters(request, language, as: session.agentId)
            guard let answers = try await dashboardAnswers(DashboardSection.allCases, filters, as: session.agentId) else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
            let tables = DashboardSection.allCases.map { ($0, $0.table(language, filters, answers[$0] ?? [])) }
            let branches = (answers[.branches]?.first?["branches"]?.arrayValue ?? []).compactMap { $0["branchId"]?.stringValue }
            let page = Pages.dashboard(
                language, user: session.viewer, filters, tables: tables, branches: branches)
            return remembering(FrontDesk.html(page), request)
        } catch {
            return daemonDown(language)
        }
    }

    /// `/dashboard/{section}.csv`: one section's table as CSV (UTF-8 with a byte-order mark, so
    /// Excel reads Persian right), every row, with the page's filters.
    func dashboardCSV(_ request: Request, file: String) async throws -> Response {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard file.hasSuffix(".csv"), let section = DashboardSection(rawValue: String(file.dropLast(4))) else {
            return FrontDesk.html(Pages.message(language, .notFound), status: .notFound)
        }
        guard session.role.readsCompany else {
            return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
        }
        do {
            let filters = try await dashboardFilters(request, language, as: session.agentId)
            guard let answers = try await dashboardAnswers([section], filters, as: session.agentId) else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
            let table = section.table(language, filters, answers[section] ?? [])
            let body = "\u{FEFF}" + CSVFile.text([table.columns] + table.rows)
            return Response(
                status: .ok,
                headers: [
                    .contentType: "text/csv; charset=utf-8", .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"crmd-\(section.rawValue)-\(filters.from)-\(filters.to).csv\"",
                ],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch {
            return daemonDown(language)
        }
    }
}

extension JSONObject {
    /// These members with `extra`'s added (or replaced).
    func with(_ extra: JSONObject) -> JSONObject {
        var object = self
        for (key, value) in extra.members { object[key] = value }
        return object
    }
}
