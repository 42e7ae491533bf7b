import Foundation
import JSONKit

/// A customer the file identifies by id or by phone number.
public enum CustomerRef: Sendable, Hashable {
    case id(String)
    case phone(String)
}

/// One customer row, read: the arguments of its registration and what duplicates are found by.
struct CustomerRecord: Sendable {
    let row: Int
    /// The id from the file's id column, if it has one.
    let id: String?
    /// `customer.register`'s arguments but the id and `at`.
    let args: JSONObject
    /// When the customer was registered (business time), if the file says.
    let at: String?
    let phones: [String]
    let emails: [String]
}

/// One interaction row, read.
struct InteractionRecord: Sendable {
    let row: Int
    let customer: CustomerRef
    let op: String
    /// The op's arguments but `customerId`.
    let args: JSONObject
}

/// One invoice, read from its rows (one row per line, sharing the invoice number).
struct InvoiceRecord: Sendable {
    struct Line: Sendable {
        let row: Int
        let product: String
        let quantity: Int64
        let unitPrice: Int64
    }
    let number: String
    var rows: [Int]
    let customer: CustomerRef
    let at: String?
    let agent: String?
    var lines: [Line]
    var paid: Int64
    let due: String?
}

/// Reads rows into records, checking every value a spreadsheet can get wrong before anything
/// is sent; what the daemon decides (agents, customers, balances) it checks when they are.
struct RecordReader: Sendable {
    let columns: Columns
    let values: CellValues
    /// Values for empty cells, from the mapping file's `defaults`.
    let defaults: [Field: String]

    /// The cell of `field`, or its default.
    func cell(_ field: Field, _ row: [String]) -> String? {
        columns.value(field, in: row) ?? defaults[field]
    }

    static let idPattern = try! NSRegularExpression(pattern: "^[A-Za-z0-9._-]{1,64}$")

    static func isID(_ text: String) -> Bool {
        idPattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) != nil
    }

    func time(_ field: Field, _ row: [String], _ number: Int) throws(Rejection) -> String? {
        guard let text = cell(field, row) else { return nil }
        guard let time = values.instant(text) else { throw .date(number, field, text) }
        return time
    }

    func customer(_ row: [String], _ number: Int) throws(Rejection) -> CustomerRecord {
        guard let name = cell(.name, row) else { throw .empty(number, .name) }
        var args: JSONObject = ["name": .string(name)]
        if let kind = cell(.kind, row) {
            switch Field.comparable(kind) {
            case "person", "حقیقی", "شخص", "شخص حقیقی", "individual": args["kind"] = "person"
            case "organisation", "organization", "company", "حقوقی", "شرکت", "شخص حقوقی", "سازمان":
                args["kind"] = "organisation"
            default: throw .unreadable(number, .kind, kind, "person or organisation", "حقیقی یا حقوقی")
            }
        }
        var phones: [String] = []
        if let text = cell(.phone, row) {
            guard let read = CellValues.phones(text) else {
                throw .unreadable(number, .phone, text, "a phone number", "شماره تلفن")
            }
            phones = read
            args["phones"] = .array(read.map(JSON.string))
        }
        var emails: [String] = []
        if let text = cell(.email, row) {
            for part in CellValues.list(text) {
                guard let email = CellValues.email(part) else {
                    throw .unreadable(number, .email, part, "an email address", "نشانی ایمیل")
                }
                emails.append(email)
            }
            args["emails"] = .array(emails.map(JSON.string))
        }
        if let agent = cell(.agent, row) {
            guard RecordReader.isID(agent) else {
                throw .unreadable(number, .agent, agent, "an agent id", "شناسه کارشناس")
            }
            args["agentId"] = .string(agent)
        }
        if let branch = cell(.branch, row) {
            guard RecordReader.isID(branch) else {
                throw .unreadable(number, .branch, branch, "a branch id", "شناسه شعبه")
            }
            args["branchId"] = .string(branch)
        }
        if let source = cell(.source, row) {
            var object: JSONObject = ["channel": .string(String(source.prefix(64)))]
            if let campaign = cell(.campaign, row) { object["campaign"] = .string(String(campaign.prefix(128))) }
            args["source"] = .object(object)
        }
        if let tags = cell(.tags, row) { args["tags"] = .array(CellValues.list(tags).map(JSON.string)) }
        if let address = cell(.address, row) { args["address"] = .string(address) }
        if let birthday = cell(.birthday, row) {
            guard let day = values.day(birthday) else { throw .date(number, .birthday, birthday) }
            args["birthday"] = .string(day.iso)
        }
        let id = cell(.id, row)
        if let id, !RecordReader.isID(id) {
            throw .unreadable(number, .id, id, "an id (letters, digits, . _ -)", "شناسه (حروف لاتین، رقم، . _ -)")
        }
        return CustomerRecord(
            row: number, id: id, args: args, at: try time(.registered, row, number), phones: phones, emails: emails)
    }

    func customerRef(_ row: [String], _ number: Int) throws(Rejection) -> CustomerRef {
        guard let text = cell(.customer, row) else { throw .empty(number, .customer) }
        if let phone = CellValues.phone(text), CellValues.latinDigits(text).filter(\.isNumber).count >= 7 {
            return .phone(phone)
        }
        guard RecordReader.isID(text) else {
            throw .unreadable(number, .customer, text, "a customer id or phone number", "شناسه یا تلفن مشتری")
        }
        return .id(text)
    }

    func interaction(_ row: [String], _ number: Int) throws(Rejection) -> InteractionRecord {
        let customer = try customerRef(row, number)
        guard let typeText = cell(.type, row) else { throw .empty(number, .type) }
        let op: String
        switch Field.comparable(typeText) {
        case "call", "phone call", "تماس", "تلفن", "تماس تلفنی": op = "call.log"
        case "meeting", "visit", "جلسه", "ملاقات", "بازدید": op = "meeting.log"
        case "note", "یادداشت": op = "note.add"
        case "sms", "text message", "پیامک", "اس ام اس", "پیام کوتاه": op = "sms.log"
        case "email", "e mail", "ایمیل", "رایانامه": op = "email.log"
        case "negotiation", "مذاکره": op = "negotiation.log"
        default:
            throw .unreadable(
                number, .type, typeText, "call, meeting, note, sms, email or negotiation",
                "تماس، جلسه، یادداشت، پیامک، ایمیل یا مذاکره")
        }
        var args: JSONObject = [:]
        if let at = try time(.date, row, number) { args["at"] = .string(at) }
        if let agent = cell(.agent, row) {
            guard RecordReader.isID(agent) else {
                throw .unreadable(number, .agent, agent, "an agent id", "شناسه کارشناس")
            }
            args["agentId"] = .string(agent)
        }
        if let direction = cell(.direction, row) {
            switch Field.comparable(direction) {
            case "inbound", "in", "incoming", "ورودی", "دریافتی": args["direction"] = "inbound"
            case "outbound", "out", "outgoing", "خروجی", "ارسالی": args["direction"] = "outbound"
            default: throw .unreadable(number, .direction, direction, "inbound or outbound", "ورودی یا خروجی")
            }
        }
        if let outcome = cell(.outcome, row) { args["outcome"] = .string(String(outcome.prefix(64))) }
        if let subject = cell(.subject, row) { args["subject"] = .string(String(subject.prefix(500))) }
        if let text = cell(.text, row) { args["text"] = .string(text) }
        if let duration = cell(.duration, row) {
            guard let seconds = values.quantity(duration) else {
                throw .unreadable(number, .duration, duration, "a number of seconds", "تعداد ثانیه")
            }
            args["durationSeconds"] = .int(seconds)
        }
        let needs: [(Field, String)] =
            switch op {
            case "call.log": [(.direction, "direction")]
            case "email.log": [(.direction, "direction"), (.subject, "subject")]
            case "negotiation.log": [(.subject, "subject"), (.outcome, "outcome")]
            case "note.add", "sms.log": [(.text, "text")]
            default: []
            }
        for (field, key) in needs where args[key] == nil { throw .empty(number, field) }
        return InteractionRecord(row: number, customer: customer, op: op, args: args)
    }

    func invoiceLine(_ row: [String], _ number: Int) throws(Rejection) -> InvoiceRecord {
        guard let invoice = cell(.invoice, row) else { throw .empty(number, .invoice) }
        let customer = try customerRef(row, number)
        guard let product = cell(.product, row) else { throw .empty(number, .product) }
        guard let quantityText = cell(.quantity, row) else { throw .empty(number, .quantity) }
        guard let quantity = values.quantity(quantityText), quantity > 0 else {
            throw .unreadable(number, .quantity, quantityText, "a whole quantity", "تعداد درست")
        }
        guard let priceText = cell(.unitPrice, row) else { throw .empty(number, .unitPrice) }
        guard let price = values.rials(priceText) else {
            throw .unreadable(number, .unitPrice, priceText, "an amount", "مبلغ")
        }
        var paid: Int64 = 0
        if let paidText = cell(.paid, row) {
            guard let amount = values.rials(paidText) else {
                throw .unreadable(number, .paid, paidText, "an amount", "مبلغ")
            }
            paid = amount
        }
        let agent = cell(.agent, row)
        if let agent, !RecordReader.isID(agent) {
            throw .unreadable(number, .agent, agent, "an agent id", "شناسه کارشناس")
        }
        return InvoiceRecord(
            number: CellValues.latinDigits(invoice), rows: [number], customer: customer,
            at: try time(.date, row, number), agent: agent,
            lines: [InvoiceRecord.Line(row: number, product: product, quantity: quantity, unitPrice: price)],
            paid: paid, due: try time(.due, row, number))
    }
}
