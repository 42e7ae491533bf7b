import Foundation
import Hummingbird
import Importer
import JSONKit

/// The forms of the customer file: log a call, add a note, schedule a follow-up, edit fields,
/// record a payment, give a quote from the catalogue.
///
/// Each rendered form carries a request id of its own, so a double click or a resubmitted form
/// writes once; a refusal comes back on the form, the daemon's error `path` naming the field.
enum CustomerForm: String, CaseIterable, Sendable {
    case call, note, followup, edit, payment, quote

    /// How many product lines the quote form offers.
    static let quoteLines = 3

    /// The form's fields, in order.
    var fields: [String] {
        switch self {
        case .call: ["direction", "outcome", "text", "at"]
        case .note: ["text", "at"]
        case .followup: ["due", "kind", "note"]
        case .edit: ["name", "phones", "emails", "address"]
        case .payment: ["invoiceId", "amount", "method", "at"]
        case .quote: (1...CustomerForm.quoteLines).map { "line\($0)" } + ["channel", "validUntil", "note"]
        }
    }

    /// The daemon op the form sends.
    var op: String {
        switch self {
        case .call: "call.log"
        case .note: "note.add"
        case .followup: "followup.schedule"
        case .edit: "customer.edit"
        case .payment: "payment.record"
        case .quote: "quote.give"
        }
    }

    /// The field a daemon error's `path` names: `/lines/1/quantity` is the quote's second line.
    func field(forPath path: String?) -> String {
        let parts = (path ?? "").split(separator: "/").map(String.init)
        if self == .quote, parts.first == "lines", parts.count > 1, let index = Int(parts[1]) { return "line\(index + 1)" }
        if let name = parts.first, fields.contains(name) { return name }
        return fields[0]
    }

    /// The op's arguments from the form's values: empty fields left out, times read in Tehran
    /// (a browser's date-time field has no zone), lists split on commas.
    func arguments(customerId: String, _ values: [String: String], times: CellValues) throws(FieldError) -> JSON {
        // A payment names its invoice, which names the customer.
        var args: JSONObject = self == .payment ? [:] : ["customerId": .string(customerId)]
        if self == .quote {
            // A line is a product and a quantity; lines left without a product are not lines.
            var lines: [JSON] = []
            for index in 1...CustomerForm.quoteLines {
                guard let product = values["product\(index)"].flatMap(CellValues.trimmed) else { continue }
                let quantity = values["quantity\(index)"].flatMap(CellValues.trimmed).map { times.rials($0) } ?? 1
                guard let quantity, quantity > 0 else { throw FieldError(field: "line\(index)", words: .badAmount) }
                lines.append(.object(["productId": .string(product), "quantity": .int(quantity)]))
            }
            guard !lines.isEmpty else { throw FieldError(field: "line1", words: .chooseProduct) }
            args["lines"] = .array(lines)
        }
        for field in fields where !field.hasPrefix("line") {
            guard let raw = values[field], let value = CellValues.trimmed(raw) else { continue }
            switch field {
            case "at", "due", "validUntil":
                guard let time = times.instant(value) else { throw FieldError(field: field, words: .badTime) }
                args[field] = .string(time)
            case "phones", "emails":
                args[field] = .array(CellValues.list(value).map(JSON.string))
            case "amount":
                guard let rials = times.rials(value), rials > 0 else { throw FieldError(field: field, words: .badAmount) }
                args[field] = .int(rials)
            default:
                args[field] = .string(value)
            }
        }
        return .object(args)
    }
}

/// A form value the front desk itself cannot read, before the daemon sees it.
struct FieldError: Error {
    let field: String
    let words: Words
}

/// A form being shown again: what the person typed and what to fix where.
struct FormState: Sendable {
    var form: CustomerForm
    var values: [String: String]
    var errors: [String: String]
}

/// Draws the forms of one customer's file: each field with its label and, when the form came
/// back refused, what was typed and what to fix there.
struct FormBuilder {
    let language: Language
    let customerId: String
    let csrf: String
    let state: FormState?

    func field(_ form: CustomerForm, _ name: String, _ label: Words, _ control: HTML) -> HTML {
        let error = state?.form == form ? state?.errors[name] : nil
        let message: HTML = error.map { "<p class=\"error\" id=\"\(form.rawValue)-\(name)-error\">\($0)</p>" } ?? ""
        return "<label for=\"\(form.rawValue)-\(name)\">\(language(label))</label>\(control)\(message)"
    }

    func value(_ form: CustomerForm, _ name: String) -> String {
        state?.form == form ? state?.values[name] ?? "" : ""
    }

    func input(_ form: CustomerForm, _ name: String, type: String = "text") -> HTML {
        "<input id=\"\(form.rawValue)-\(name)\" name=\"\(name)\" type=\"\(type)\" value=\"\(value(form, name))\">"
    }

    func textarea(_ form: CustomerForm, _ name: String) -> HTML {
        "<textarea id=\"\(form.rawValue)-\(name)\" name=\"\(name)\" rows=\"3\">\(value(form, name))</textarea>"
    }

    func select(_ form: CustomerForm, _ name: String, _ options: [(String, String)]) -> HTML {
        let chosen = value(form, name)
        let items = HTML.join(
            options.map { option in
                let selected: HTML = option.0 == chosen ? " selected" : ""
                return "<option value=\"\(option.0)\"\(selected)>\(option.1)</option>"
            })
        return "<select id=\"\(form.rawValue)-\(name)\" name=\"\(name)\">\(items)</select>"
    }

    func wrap(_ form: CustomerForm, _ title: Words, _ body: HTML) -> HTML {
        // A fresh id per rendering: the same rendered form sent twice is the same request.
        let requestId = state?.form == form ? state?.values["rid"] ?? Sessions.token() : Sessions.token()
        return """
            <div class="card"><h2>\(language(title))</h2><form method="post" action="/customers/\(customerId)/\(form.rawValue)" id="form-\(form.rawValue)">\
            <input type="hidden" name="csrf" value="\(csrf)"><input type="hidden" name="rid" value="\(requestId)">\(body)\
            <button class="primary" type="submit">\(language(.save))</button></form></div>
            """
    }
}

extension Pages {
    /// The forms of the file, each with a fresh request id; `state` refills the one that was
    /// refused. The quote form is a link: it lives on its own page (`quoteForm`), so the
    /// catalogue it lists is asked of the daemon only when someone gives a quote.
    static func customerForms(
        _ language: Language, customerId: String, csrf: String, state: FormState?, openInvoices: [(String, Int64)]
    ) -> HTML {
        let b = FormBuilder(language: language, customerId: customerId, csrf: csrf, state: state)
        let directions = [("inbound", language(.inbound)), ("outbound", language(.outbound))]
        let methods = ["cash", "card", "transfer", "cheque", "other"].map { ($0, $0) }
        let invoices = openInvoices.map { ($0.0, "\($0.0) — \(Pages.amount($0.1))") }
        let payment: HTML =
            invoices.isEmpty
            ? ""
            : b.wrap(
                .payment, .recordPayment,
                HTML.join([
                    b.field(.payment, "invoiceId", .invoices, b.select(.payment, "invoiceId", invoices)),
                    b.field(.payment, "amount", .amountRials, b.input(.payment, "amount")),
                    b.field(.payment, "method", .method, b.select(.payment, "method", methods)),
                    b.field(.payment, "at", .happenedAt, b.input(.payment, "at", type: "datetime-local")),
                ]))
        let quote: HTML = """
            <div class="card"><h2>\(language(.giveQuote))</h2><a id="quote-link" href="/customers/\(customerId)/quote">\
            \(language("انتخاب کالا از فهرست و اعلام قیمت", "Choose products from the catalogue"))</a></div>
            """
        let kinds = ["call", "meeting", "email", "sms", "visit", "quote", "payment", "other"].map { ($0, $0) }
        return HTML.join([
            b.wrap(
                .call, .logCall,
                HTML.join([
                    b.field(.call, "direction", .direction, b.select(.call, "direction", directions)),
                    b.field(.call, "outcome", .outcome, b.input(.call, "outcome")),
                    b.field(.call, "text", .text, b.textarea(.call, "text")),
                    b.field(.call, "at", .happenedAt, b.input(.call, "at", type: "datetime-local")),
                ])),
            b.wrap(
                .note, .addNote,
                HTML.join([
                    b.field(.note, "text", .text, b.textarea(.note, "text")),
                    b.field(.note, "at", .happenedAt, b.input(.note, "at", type: "datetime-local")),
                ])),
            b.wrap(
                .followup, .scheduleFollowup,
                HTML.join([
                    b.field(.followup, "due", .due, b.input(.followup, "due", type: "datetime-local")),
                    b.field(.followup, "kind", .kind, b.select(.followup, "kind", kinds)),
                    b.field(.followup, "note", .text, b.textarea(.followup, "note")),
                ])),
            b.wrap(
                .edit, .editFields,
                HTML.join([
                    b.field(.edit, "name", .name, b.input(.edit, "name")),
                    b.field(.edit, "phones", .phones, b.input(.edit, "phones")),
                    b.field(.edit, "emails", .emails, b.input(.edit, "emails")),
                    b.field(.edit, "address", .address, b.input(.edit, "address")),
                ])),
            quote,
            payment,
        ])
    }

    /// The quote form: up to `CustomerForm.quoteLines` products of `products` (the catalogue)
    /// with quantities, the channel, how long it holds, a note.
    static func quoteForm(
        _ language: Language, customerId: String, csrf: String, state: FormState?, products: [JSON]
    ) -> HTML {
        let b = FormBuilder(language: language, customerId: customerId, csrf: csrf, state: state)
        let catalogue = [("", "—")] + products.compactMap { product -> (String, String)? in
            guard let id = product["productId"]?.stringValue else { return nil }
            let price = product["unitPrice"]?["amount"]?.intValue
            return (id, "\(product["name"]?.stringValue ?? id) — \(Pages.amount(price))")
        }
        let lines = HTML.join(
            (1...CustomerForm.quoteLines).map { index in
                b.field(
                    .quote, "line\(index)", .product,
                    """
                    <span class="line">\(b.select(.quote, "product\(index)", catalogue))\
                    <input id="quote-quantity\(index)" name="quantity\(index)" inputmode="numeric" value="\(b.value(.quote, "quantity\(index)"))" \
                    placeholder="\(language(.quantity))" aria-label="\(language(.quantity))"></span>
                    """)
            })
        let channels = ["phone", "email", "in_person", "sms", "letter", "other"].map { ($0, $0) }
        return b.wrap(
            .quote, .giveQuote,
            HTML.join([
                lines,
                b.field(.quote, "channel", .channel, b.select(.quote, "channel", channels)),
                b.field(.quote, "validUntil", .validUntil, b.input(.quote, "validUntil", type: "datetime-local")),
                b.field(.quote, "note", .text, b.textarea(.quote, "note")),
            ]))
    }
}

extension FrontDesk {
    /// `/customers/{id}/quote`: the quote form with the catalogue, for a customer of the caller's.
    func quotePage(_ request: Request, id: String, state: FormState? = nil, status: HTTPResponse.Status = .ok)
        async throws -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard session.role.writes else { return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden) }
        async let catalogue = gateway.call("product.list", .object([:]), as: session.agentId)
        let answer: CRMAnswer
        let products: [JSON]
        do {
            answer = try await gateway.call("customer.get", .object(["customerId": .string(id)]), as: session.agentId)
            guard case .ok(let list) = try await catalogue else {
                return FrontDesk.html(Pages.message(language, .forbidden), status: .forbidden)
            }
            products = list["products"]?.arrayValue ?? []
        } catch {
            return daemonDown(language)
        }
        guard case .ok(let file) = answer else {
            let forbidden = if case .refused("forbidden", _, _, _) = answer { true } else { false }
            return FrontDesk.html(
                Pages.message(language, forbidden ? .forbidden : .notFound), status: forbidden ? .forbidden : .notFound)
        }
        let name = file["name"]?.stringValue ?? id
        let form = Pages.quoteForm(language, customerId: id, csrf: session.csrf, state: state, products: products)
        let page = Pages.layout(
            language(.giveQuote), language, user: session.viewer,
            "<div class=\"card\"><h1><a href=\"/customers/\(id)\" id=\"customer-name\">\(name)</a></h1></div>\(form)")
        return remembering(FrontDesk.html(page, status: status), request)
    }

    /// A form of the customer file posted: checked, sent as the person, and either back to the
    /// file (written) or the file again with the refusal on the field.
    func submit(_ form: CustomerForm, _ request: Request, _ context: BasicRequestContext, id: String) async throws
        -> Response
    {
        let language = language(request)
        guard let (_, session) = await session(request) else { return Response.redirect(to: "/login") }
        guard let values = await postedForm(request, context, session), let rid = values["rid"] else {
            return formExpired(request)
        }
        var state = FormState(form: form, values: values, errors: [:])
        func refused(_ state: FormState) async throws -> Response {
            form == .quote
                ? try await quotePage(request, id: id, state: state, status: .unprocessableContent)
                : try await customerPage(request, id: id, state: state, status: .unprocessableContent)
        }
        let args: JSON
        do {
            args = try form.arguments(customerId: id, values, times: CellValues(timeZone: FrontDesk.businessZone))
        } catch {
            state.errors[error.field] = language(error.words)
            return try await refused(state)
        }
        let answer: CRMAnswer
        do {
            answer = try await gateway.call(form.op, args, as: session.agentId, requestId: "web-" + rid)
        } catch {
            return daemonDown(language)
        }
        switch answer {
        case .ok:
            return Response.redirect(to: "/customers/\(id)")
        case .refused(let code, let message, let path, _):
            if code == "forbidden" || code == "not_found" {
                return FrontDesk.html(Pages.message(language, code == "not_found" ? .notFound : .forbidden), status: code == "not_found" ? .notFound : .forbidden)
            }
            state.errors[form.field(forPath: path)] = message
            return try await refused(state)
        }
    }
}
