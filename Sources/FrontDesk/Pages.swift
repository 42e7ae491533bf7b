import EventStore
import Foundation
import JSONKit

/// The words of the pages, in Persian (the default) and English.
public enum Language: String, Sendable {
    case fa, en

    /// Right to left for Persian.
    var direction: String { self == .fa ? "rtl" : "ltr" }

    /// `key`'s text in this language.
    func callAsFunction(_ key: Words) -> String { self == .fa ? key.persian : key.english }

    /// A phrase of one page only, given in both languages where it is used.
    func callAsFunction(_ persian: String, _ english: String) -> String { self == .fa ? persian : english }
}

/// Every phrase a page shows.
enum Words {
    case appName, login, logout, username, password, code, search, searchHint, noResults, results, daemonDown
    case daemonDownDetail, loginFailed, loginLocked, forbidden, notFound, formExpired, name, phones, emails, agent
    case source, registeredAt, interactions, invoices, when, kind, text, total, open, otherLanguage, customerFile
    case save, inbound, outbound, logCall, addNote, scheduleFollowup, editFields, direction, outcome, happenedAt, due
    case address, badTime, asOfLabel, show, historyView
    case agenda, overdue, complete, deferTo, deferredBack, birthdays, expiringQuotes, expiringContracts
    case recordPayment, amountRials, method, badAmount, atLabel
    case giveQuote, product, quantity, channel, validUntil, chooseProduct

    var persian: String {
        switch self {
        case .appName: "میز پذیرش crmd"
        case .login: "ورود"
        case .logout: "خروج"
        case .username: "نام کاربری"
        case .password: "گذرواژه"
        case .code: "کد تأیید (اگر دارید)"
        case .search: "جستجو"
        case .searchHint: "تلفن، نام یا ایمیل مشتری"
        case .noResults: "مشتری‌ای پیدا نشد."
        case .results: "نتیجه‌ها"
        case .daemonDown: "سامانه در دسترس نیست"
        case .daemonDownDetail: "سرویس crmd پاسخ نمی‌دهد. این صفحه هر پنج ثانیه دوباره تلاش می‌کند."
        case .loginFailed: "نام کاربری، گذرواژه یا کد درست نیست."
        case .loginLocked: "به دلیل تلاش‌های ناموفق پیاپی، ورود این کاربر تا پانزده دقیقه بسته است."
        case .forbidden: "شما به این صفحه دسترسی ندارید."
        case .notFound: "پیدا نشد."
        case .formExpired: "این فرم منقضی شده است؛ صفحه را دوباره باز کنید."
        case .name: "نام"
        case .phones: "تلفن"
        case .emails: "ایمیل"
        case .agent: "کارشناس"
        case .source: "منبع"
        case .registeredAt: "تاریخ ثبت"
        case .interactions: "تعامل‌ها"
        case .invoices: "فاکتورها"
        case .when: "زمان"
        case .kind: "نوع"
        case .text: "شرح"
        case .total: "مبلغ"
        case .open: "مانده"
        case .otherLanguage: "English"
        case .customerFile: "پرونده مشتری"
        case .save: "ثبت"
        case .inbound: "ورودی"
        case .outbound: "خروجی"
        case .logCall: "ثبت تماس"
        case .addNote: "افزودن یادداشت"
        case .scheduleFollowup: "پیگیری بعدی"
        case .editFields: "ویرایش مشخصات"
        case .direction: "جهت"
        case .outcome: "نتیجه"
        case .happenedAt: "زمان (اگر گذشته است)"
        case .due: "موعد"
        case .address: "آدرس"
        case .badTime: "این زمان خوانده نشد؛ تاریخ و ساعت را کامل بنویسید."
        case .asOfLabel: "پرونده در تاریخ"
        case .show: "نمایش"
        case .historyView: "این پرونده در تاریخ گذشته است؛ برای تغییر، پرونده امروز را باز کنید."
        case .agenda: "کارهای امروز"
        case .overdue: "عقب افتاده"
        case .complete: "انجام شد"
        case .deferTo: "تعویق تا"
        case .deferredBack: "پیگیری‌های به تعویق افتاده"
        case .birthdays: "تولدها"
        case .expiringQuotes: "پیش‌فاکتورهای رو به انقضا"
        case .expiringContracts: "قراردادهای پشتیبانی رو به پایان"
        case .recordPayment: "ثبت پرداخت"
        case .amountRials: "مبلغ (ریال)"
        case .method: "روش پرداخت"
        case .badAmount: "مبلغ را با رقم بنویسید، مثلاً ۱٬۲۵۰٬۰۰۰."
        case .atLabel: "وضعیت در تاریخ (با همه آنچه امروز می‌دانیم)"
        case .giveQuote: "اعلام قیمت"
        case .product: "کالا و تعداد"
        case .quantity: "تعداد"
        case .channel: "از راه"
        case .validUntil: "معتبر تا"
        case .chooseProduct: "دست‌کم یک کالا انتخاب کنید."
        }
    }

    var english: String {
        switch self {
        case .appName: "crmd front desk"
        case .login: "Log in"
        case .logout: "Log out"
        case .username: "User name"
        case .password: "Password"
        case .code: "Code (if you have one)"
        case .search: "Search"
        case .searchHint: "Phone, name or email"
        case .noResults: "No customer found."
        case .results: "Results"
        case .daemonDown: "The CRM is not reachable"
        case .daemonDownDetail: "The crmd service does not answer. This page tries again every five seconds."
        case .loginFailed: "The user name, password or code is not right."
        case .loginLocked: "After repeated failures this user cannot log in for fifteen minutes."
        case .forbidden: "You may not open this page."
        case .notFound: "Not found."
        case .formExpired: "This form has expired; open the page again."
        case .name: "Name"
        case .phones: "Phones"
        case .emails: "Emails"
        case .agent: "Agent"
        case .source: "Source"
        case .registeredAt: "Registered"
        case .interactions: "Interactions"
        case .invoices: "Invoices"
        case .when: "When"
        case .kind: "Kind"
        case .text: "Text"
        case .total: "Total"
        case .open: "Open"
        case .otherLanguage: "فارسی"
        case .customerFile: "Customer file"
        case .save: "Save"
        case .inbound: "Inbound"
        case .outbound: "Outbound"
        case .logCall: "Log a call"
        case .addNote: "Add a note"
        case .scheduleFollowup: "Schedule a follow-up"
        case .editFields: "Edit details"
        case .direction: "Direction"
        case .outcome: "Outcome"
        case .happenedAt: "When (if earlier)"
        case .due: "Due"
        case .address: "Address"
        case .badTime: "This time could not be read; give the date and the time."
        case .asOfLabel: "The file as of"
        case .show: "Show"
        case .historyView: "This is the file at a past date; open today's file to change it."
        case .agenda: "Today"
        case .overdue: "Overdue"
        case .complete: "Done"
        case .deferTo: "Defer to"
        case .deferredBack: "Deferred follow-ups"
        case .birthdays: "Birthdays"
        case .expiringQuotes: "Quotes running out"
        case .expiringContracts: "Support contracts ending"
        case .recordPayment: "Record a payment"
        case .amountRials: "Amount (rials)"
        case .method: "Method"
        case .badAmount: "Write the amount in digits, e.g. 1,250,000."
        case .atLabel: "As things stood on (by all we know now)"
        case .giveQuote: "Give a quote"
        case .product: "Product and quantity"
        case .quantity: "Quantity"
        case .channel: "Channel"
        case .validUntil: "Valid until"
        case .chooseProduct: "Choose at least one product."
        }
    }
}

/// The pages, as HTML.
enum Pages {
    /// The stylesheet, served from /assets/crmd.css (no inline style, so the CSP forbids all).
    static let stylesheet = """
        body{font-family:"Vazirmatn","Noto Sans Arabic",Tahoma,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
        header{background:#1f4e79;color:#fff;padding:.6rem 1rem;display:flex;gap:1rem;align-items:center}
        header a,header button{color:#fff;background:none;border:0;font:inherit;cursor:pointer;text-decoration:none}
        header form{margin:0}
        main{max-width:72rem;margin:1.5rem auto;padding:0 1rem}
        .card{background:#fff;border-radius:.5rem;padding:1rem 1.25rem;margin-bottom:1rem;box-shadow:0 1px 2px #0002}
        label{display:block;margin:.5rem 0 .2rem}
        input,select,textarea{font:inherit;padding:.45rem;border:1px solid #bcc3cf;border-radius:.3rem;width:100%;box-sizing:border-box}
        button.primary{font:inherit;margin-top:.8rem;padding:.45rem 1.2rem;background:#1f4e79;color:#fff;border:0;border-radius:.3rem}
        .error{color:#a4161a;font-weight:bold}
        table{border-collapse:collapse;width:100%}
        th,td{padding:.35rem .5rem;border-bottom:1px solid #e3e6eb;text-align:start;vertical-align:top}
        .spacer{flex:1}
        tr.overdue td{background:#fdecea}
        td form{display:inline-block;margin:0 .2rem}
        .line{display:flex;gap:.5rem}.line select{flex:3}.line input{flex:1}
        .board{display:grid;grid-template-columns:repeat(auto-fill,minmax(13rem,1fr));gap:.8rem}
        .column h2{font-size:1rem;margin:.2rem 0 .6rem}.deal{border:1px solid #e3e6eb;border-radius:.4rem;padding:.5rem;margin-bottom:.5rem;font-size:.9rem}
        .deal form{margin:.3rem 0}.deal select,.deal button{width:auto;font-size:.85rem;padding:.2rem .4rem}
        .muted{color:#5b6472;font-size:.85rem}.filters{display:flex;gap:.6rem;flex-wrap:wrap;align-items:end}.filters label{margin:0}
        .filters>div{flex:1;min-width:8rem}.chart{width:100%;height:auto}.chart text{font-size:11px;fill:#1d2330}
        .bar{fill:#1f4e79}.grid{stroke:#e3e6eb}.numbers td{font-variant-numeric:tabular-nums}
        .wide{max-width:80rem}
        @media (min-width:64rem){.file{display:grid;grid-template-columns:3fr 2fr;gap:1rem;align-items:start}}code{font-size:.8rem;word-break:break-all}
        """

    /// A whole page: the header (with logout when someone is logged in) and `body`.
    static func layout(
        _ title: String, _ language: Language, user: Viewer? = nil, refresh: Int? = nil,
        _ body: HTML
    ) -> String {
        let other = language == .fa ? "en" : "fa"
        var header: HTML = "<strong>\(language(.appName))</strong>"
        if let user {
            header = """
                \(header)<a href="/search">\(language(.search))</a>\(navigation(language, user.role))<span class="spacer"></span><span>\(user.agentId)</span>\
                <form method="post" action="/logout"><input type="hidden" name="csrf" value="\(user.csrf)">\
                <button type="submit" id="logout">\(language(.logout))</button></form>
                """
        } else {
            header = "\(header)<span class=\"spacer\"></span>"
        }
        header = "\(header)<a href=\"?lang=\(other)\">\(language(.otherLanguage))</a>"
        let meta: HTML = refresh.map { "<meta http-equiv=\"refresh\" content=\"\($0)\">" } ?? ""
        let page: HTML = """
            <!doctype html>
            <html lang="\(language.rawValue)" dir="\(language.direction)"><head><meta charset="utf-8">\
            <meta name="viewport" content="width=device-width, initial-scale=1">\(meta)\
            <title>\(title) · crmd</title><link rel="stylesheet" href="/assets/crmd.css"></head>
            <body><header>\(header)</header><main>\(body)</main></body></html>
            """
        return page.description
    }

    /// The pages a role is offered beside search: the desk for those who write, the company's
    /// pages for those who read it whole.
    static func navigation(_ language: Language, _ role: StaffRole) -> HTML {
        var links: [HTML] = []
        if role.writes { links.append("<a href=\"/agenda\">\(language(.agenda))</a>") }
        links.append("<a href=\"/deals\">\(language("قیف فروش", "Deals"))</a>")
        if role.readsCompany {
            links.append("<a href=\"/dashboard\">\(language("داشبورد", "Dashboard"))</a>")
            links.append("<a href=\"/audit\">\(language("ممیزی", "Audit"))</a>")
        }
        return HTML.join(links)
    }

    static func login(_ language: Language, csrf: String, error: String?, username: String = "") -> String {
        let message: HTML = error.map { "<p class=\"error\" role=\"alert\">\($0)</p>" } ?? ""
        return layout(
            language(.login), language,
            """
            <div class="card"><h1>\(language(.login))</h1>\(message)
            <form method="post" action="/login"><input type="hidden" name="csrf" value="\(csrf)">
            <label for="username">\(language(.username))</label><input id="username" name="username" value="\(username)" autocomplete="username" required>
            <label for="password">\(language(.password))</label><input id="password" name="password" type="password" autocomplete="current-password" required>
            <label for="code">\(language(.code))</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code">
            <button class="primary" type="submit">\(language(.login))</button></form></div>
            """)
    }

    static func message(_ language: Language, _ title: Words, _ detail: Words? = nil, refresh: Int? = nil) -> String {
        let more: HTML = detail.map { "<p>\(language($0))</p>" } ?? ""
        return layout(language(title), language, refresh: refresh, "<div class=\"card\"><h1>\(language(title))</h1>\(more)</div>")
    }

    /// A page saying what the daemon refused, in its words.
    static func problem(_ language: Language, _ text: String) -> String {
        layout(language(.notFound), language, "<div class=\"card\"><p class=\"error\" role=\"alert\">\(text)</p></div>")
    }

    static func search(
        _ language: Language, user: Viewer, query: String, customers: [JSON]?
    ) -> String {
        var results: HTML = ""
        if let customers {
            if customers.isEmpty {
                results = "<div class=\"card\"><p id=\"no-results\">\(language(.noResults))</p></div>"
            } else {
                let rows = HTML.join(
                    customers.map { customer in
                        let id = customer["customerId"]?.stringValue ?? ""
                        let phones = (customer["phones"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: "، ")
                        return """
                            <tr><td><a href="/customers/\(id)">\(customer["name"]?.stringValue ?? id)</a></td>\
                            <td dir="ltr">\(phones)</td><td>\(customer["agentId"]?.stringValue ?? "")</td></tr>
                            """
                    })
                results = """
                    <div class="card"><h2>\(language(.results))</h2><table id="results"><tr><th>\(language(.name))</th>\
                    <th>\(language(.phones))</th><th>\(language(.agent))</th></tr>\(rows)</table></div>
                    """
            }
        }
        return layout(
            language(.search), language, user: user,
            """
            <div class="card"><form method="get" action="/search"><label for="q">\(language(.searchHint))</label>
            <input id="q" name="q" value="\(query)" autofocus><button class="primary" type="submit">\(language(.search))</button></form></div>\(results)
            """)
    }

    static func customer(
        _ language: Language, user: Viewer, _ file: JSON, asOf: String?, at: String?,
        state: FormState?, changes: [JSON] = []
    ) -> String {
        func text(_ value: JSON?) -> String {
            switch value {
            case .string(let s)?: s
            case .array(let items)?: items.compactMap(\.stringValue).joined(separator: "، ")
            case .int(let n)?: String(n)
            default: ""
            }
        }
        let id = text(file["customerId"])
        let name = text(file["name"])
        let source = ["channel", "campaign", "referrer"].map { text(file["source"]?[$0]) }.filter { !$0.isEmpty }
        let next = file["nextFollowup"].flatMap { $0 == .null ? nil : $0 }
        let details: [(String, String)] = [
            (language(.phones), text(file["phones"])), (language(.emails), text(file["emails"])),
            (language(.address), text(file["address"])), (language(.agent), text(file["agentId"])),
            (language(.source), source.joined(separator: " · ")), (language("شعبه", "Branch"), text(file["branchId"])),
            (language("برچسب‌ها", "Tags"), text(file["tags"])), (language("تولد", "Birthday"), text(file["birthday"])),
            (language(.registeredAt), Pages.time(file["registeredAt"]?.stringValue, language)),
            (
                language("پیگیری بعدی", "Next follow-up"),
                next.map { "\(Pages.time($0["due"]?.stringValue, language)) · \(text($0["kind"]))" } ?? ""
            ),
        ]
        let rows = HTML.join(details.filter { !$0.1.isEmpty }.map { "<tr><th>\($0.0)</th><td>\($0.1)</td></tr>" })
        /// A section of the file: a heading and a table, left out when it has no rows.
        func section(_ id: String, _ title: String, _ columns: [String], _ items: [[String]]) -> HTML {
            guard !items.isEmpty else { return "" }
            let head = HTML.join(columns.map { "<th>\($0)</th>" })
            let body = HTML.join(items.map { row in "<tr>\(HTML.join(row.map { "<td>\($0)</td>" }))</tr>" })
            return "<div class=\"card\"><h2>\(title)</h2><table id=\"\(id)\"><tr>\(head)</tr>\(body)</table></div>"
        }
        func money(_ value: JSON?) -> String { Pages.amount(value?["amount"]?.intValue) }
        let contacts = section(
            "contacts", language("افراد رابط", "Contacts"), [language(.name), language("سمت", "Role"), language(.phones)],
            (file["contacts"]?.arrayValue ?? []).map { [text($0["name"]), text($0["role"]), text($0["phones"])] })
        let competitors = section(
            "competitors", language("رقبا", "Competitors"),
            [language(.name), language("پیشنهاد", "Offer"), language("قیمت", "Price"), language(.when)],
            (file["competitors"]?.arrayValue ?? []).map {
                [text($0["competitor"]), text($0["offer"]), money($0["price"]), Pages.time($0["at"]?.stringValue, language)]
            })
        let quotes = section(
            "quotes", language("پیش‌فاکتورها و اعلام قیمت‌ها", "Quotes"),
            ["#", language(.when), language(.total), language(.validUntil), language(.agent)],
            (file["quotes"]?.arrayValue ?? []).reversed().map {
                [
                    text($0["quoteId"]), Pages.time($0["givenAt"]?.stringValue, language), money($0["total"]),
                    Pages.time($0["validUntil"]?.stringValue, language), text($0["agentId"]),
                ]
            })
        let deals = section(
            "deals", language("معامله‌ها", "Deals"),
            ["#", language("عنوان", "Title"), language("مرحله", "Stage"), language("مبلغ", "Value"), language(.agent)],
            (file["deals"]?.arrayValue ?? []).map {
                [text($0["dealId"]), text($0["title"]), text($0["stage"]), money($0["value"]), text($0["agentId"])]
            })
        let contracts = section(
            "contracts", language("قراردادهای پشتیبانی", "Support contracts"),
            ["#", language(.product), language("از", "From"), language("تا", "Until")],
            (file["contracts"]?.arrayValue ?? []).map {
                [text($0["contractId"]), text($0["productId"]), text($0["startsOn"]), text($0["expiresOn"])]
            })
        let fieldChanges = section(
            "changes", language("تغییر مشخصات", "Field changes"),
            [language(.when), language("توسط", "By"), language("فیلد", "Field"), language("قبلی", "Old"), language("جدید", "New")],
            changes.reversed().map {
                [
                    Pages.time($0["at"]?.stringValue, language), text($0["by"]), text($0["field"]),
                    $0["old"].map(Pages.plain) ?? "", $0["new"].map(Pages.plain) ?? "",
                ]
            })
        let interactions = HTML.join(
            (file["interactions"]?.arrayValue ?? []).reversed().map { interaction in
                """
                <tr><td>\(Pages.time(interaction["at"]?.stringValue, language))</td><td>\(text(interaction["kind"]))</td>\
                <td>\(text(interaction["agentId"]))</td><td>\(text(interaction["text"]))</td></tr>
                """
            })
        let invoices = HTML.join(
            (file["invoices"]?.arrayValue ?? []).map { invoice in
                """
                <tr><td>\(text(invoice["invoiceId"]))</td><td>\(Pages.time(invoice["issuedAt"]?.stringValue, language))</td>\
                <td>\(Pages.amount(invoice["total"]?.intValue))</td><td>\(Pages.amount(invoice["open"]?.intValue))</td></tr>
                """
            })
        let past = asOf != nil || at != nil
        let history: HTML = """
            <div class="card"><form method="get" action="/customers/\(id)"><label for="at">\(language(.atLabel))</label>\
            <input id="at" name="at" type="date" value="\(at ?? "")"><label for="asOf">\(language(.asOfLabel))</label>\
            <input id="asOf" name="asOf" type="date" value="\(asOf ?? "")"><button class="primary" type="submit">\(language(.show))</button></form>\
            \(past ? HTML(raw: "<p id=\"as-of-note\">" + HTML.text(language(.historyView)).description + "</p>") : "")</div>
            """
        let open = (file["invoices"]?.arrayValue ?? []).compactMap { invoice -> (String, Int64)? in
            guard let id = invoice["invoiceId"]?.stringValue, let due = invoice["open"]?.intValue, due > 0,
                invoice["void"] != true
            else { return nil }
            return (id, due)
        }
        let forms =
            !past && user.role.writes
            ? customerForms(
                language, customerId: id, csrf: user.csrf, state: state, openInvoices: open) : ""
        return layout(
            name, language, user: user,
            """
            <div class="file"><div class="record">\
            <div class="card"><h1 id="customer-name">\(name)</h1><table id="details">\(rows)</table></div>
            <div class="card"><h2>\(language(.interactions))</h2><table id="timeline"><tr><th>\(language(.when))</th>\
            <th>\(language(.kind))</th><th>\(language(.agent))</th><th>\(language(.text))</th></tr>\(interactions)</table></div>
            <div class="card"><h2>\(language(.invoices))</h2><table id="invoices"><tr><th>#</th><th>\(language(.when))</th>\
            <th>\(language(.total))</th><th>\(language(.open))</th></tr>\(invoices)</table></div>\(quotes)\(deals)\(contracts)\
            \(contacts)\(competitors)\(fieldChanges)</div>
            <div class="forms">\(history)\(forms)</div></div>
            """)
    }

    /// A recorded time as people read it: the Jalali date and time in Tehran, with Persian
    /// digits, on the Persian side; the Gregorian ones on the English side.
    static func time(_ rfc3339: String?, _ language: Language) -> String {
        guard let rfc3339, let time = Timestamp(rfc3339: rfc3339) else { return rfc3339 ?? "" }
        return Clock.time(time, language)
    }

    /// An amount in rials with thousands separators.
    static func amount(_ value: Int64?) -> String {
        guard let value else { return "" }
        let digits = String(value.magnitude)
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return (value < 0 ? "-" : "") + out
    }
}
