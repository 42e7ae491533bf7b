import Foundation
import JSONKit
import Projections

/// What a file holds, one record per row.
public enum ImportKind: String, Sendable, CaseIterable {
    case customers, interactions, invoices

    /// The fields its rows may have, in the order an export writes them.
    public var fields: [Field] {
        switch self {
        case .customers:
            [.id, .name, .kind, .phone, .email, .agent, .source, .campaign, .tags, .registered, .address, .birthday, .branch]
        case .interactions: [.customer, .type, .date, .agent, .direction, .outcome, .subject, .text, .duration]
        case .invoices: [.invoice, .customer, .date, .agent, .product, .quantity, .unitPrice, .paid, .due]
        }
    }

    /// The fields a row cannot do without.
    public var required: [Field] {
        switch self {
        case .customers: [.name]
        case .interactions: [.customer, .type]
        case .invoices: [.invoice, .customer, .product, .quantity, .unitPrice]
        }
    }
}

/// A column's meaning. Its raw value is the English header an export writes.
public enum Field: String, Sendable, CaseIterable {
    case id, name, kind, phone, email, agent, source, campaign, tags, registered, address, birthday, branch
    case customer, type, date, direction, outcome, subject, text, duration
    case invoice, product, quantity, unitPrice = "unit price", paid, due

    /// The Persian header an export writes.
    public var persian: String {
        switch self {
        case .id: "شناسه"
        case .name: "نام"
        case .kind: "نوع مشتری"
        case .phone: "تلفن"
        case .email: "ایمیل"
        case .agent: "کارشناس"
        case .source: "منبع"
        case .campaign: "کمپین"
        case .tags: "برچسب"
        case .registered: "تاریخ ثبت"
        case .address: "آدرس"
        case .birthday: "تاریخ تولد"
        case .branch: "شعبه"
        case .customer: "مشتری"
        case .type: "نوع"
        case .date: "تاریخ"
        case .direction: "جهت"
        case .outcome: "نتیجه"
        case .subject: "موضوع"
        case .text: "شرح"
        case .duration: "مدت"
        case .invoice: "شماره فاکتور"
        case .product: "کالا"
        case .quantity: "تعداد"
        case .unitPrice: "فی"
        case .paid: "پرداختی"
        case .due: "سررسید"
        }
    }

    /// Headers people write for it, English and Persian (compared after normalisation).
    var synonyms: [String] {
        let more: [String] =
            switch self {
            case .id: ["customer id", "code", "کد", "کد مشتری", "شناسه مشتری"]
            case .name: ["full name", "customer name", "نام مشتری", "نام و نام خانوادگی", "نام کامل", "نام شرکت"]
            case .kind: ["customer type", "person or organisation", "نوع", "حقیقی/حقوقی", "حقیقی حقوقی", "نوع شخص"]
            case .phone: [
                "phones", "mobile", "cell", "telephone", "tel", "phone number", "تلفن همراه", "موبایل", "شماره تماس",
                "شماره تلفن", "همراه", "تلفن ثابت",
            ]
            case .email: ["e-mail", "email address", "mail", "پست الکترونیک", "رایانامه", "ايميل"]
            case .agent: ["agent id", "sales agent", "owner", "salesperson", "کارشناس فروش", "مسئول", "فروشنده"]
            case .source: ["channel", "lead source", "how found", "نحوه آشنایی", "منبع آشنایی", "کانال"]
            case .campaign: ["کمپین تبلیغاتی"]
            case .tags: ["tag", "labels", "برچسب ها", "برچسبها", "تگ"]
            case .registered: ["registered at", "registration date", "created", "created at", "date registered", "تاریخ عضویت"]
            case .address: ["نشانی"]
            case .birthday: ["birth date", "date of birth", "dob", "تولد"]
            case .branch: ["branch id", "شعبه فروش"]
            case .customer: ["customer id", "customer phone", "client", "مشتری", "کد مشتری", "تلفن مشتری"]
            case .type: ["interaction", "activity", "kind", "نوع فعالیت", "نوع تعامل", "نوع ارتباط"]
            case .date: ["at", "when", "date time", "datetime", "زمان", "تاریخ و ساعت", "تاریخ فاکتور", "invoice date"]
            case .direction: ["in/out", "ورودی/خروجی", "ورودی خروجی"]
            case .outcome: ["result", "status", "وضعیت"]
            case .subject: ["title", "عنوان"]
            case .text: ["note", "notes", "description", "details", "body", "توضیحات", "متن", "یادداشت"]
            case .duration: ["duration seconds", "seconds", "مدت تماس", "مدت ثانیه"]
            case .invoice: ["invoice number", "invoice no", "invoice id", "number", "شماره", "فاکتور"]
            case .product: ["product id", "item", "product name", "نام کالا", "محصول", "کالا/خدمات"]
            case .quantity: ["qty", "count", "مقدار"]
            case .unitPrice: ["price", "unit price", "unitprice", "قیمت", "قیمت واحد", "فی واحد", "مبلغ واحد"]
            case .paid: ["amount paid", "payment", "پرداخت", "پرداخت شده", "مبلغ پرداختی"]
            case .due: ["due date", "due at", "تاریخ سررسید", "مهلت پرداخت"]
            }
        return [rawValue, persian] + more
    }

    /// `header` as compared: search normalisation (Persian yeh, kaf, digits, case, spaces),
    /// without punctuation, units in brackets or marks such as `*` for required columns.
    static func comparable(_ header: String) -> String {
        var text = header
        for (open, close) in [("(", ")"), ("[", "]")] {
            while let start = text.range(of: open), let end = text.range(of: close, range: start.upperBound..<text.endIndex) {
                text.removeSubrange(start.lowerBound..<end.upperBound)
            }
        }
        let kept = text.unicodeScalars.map { scalar -> Unicode.Scalar in
            CharacterSet.letters.contains(scalar) || CharacterSet.decimalDigits.contains(scalar) || scalar == "/"
                ? scalar : " "
        }
        return SearchText.normalize(String(String.UnicodeScalarView(kept))).trimmingCharacters(in: .whitespaces)
    }
}

/// A file's columns: which field each column holds, and the language its headers are in.
public struct Columns: Sendable {
    /// Field of each column index (columns not recognised are absent and ignored).
    public let fields: [Int: Field]
    /// The header cells as written.
    public let headers: [String]
    /// Whether the headers are in Persian (reasons in a rejects file are then Persian too).
    public let persian: Bool

    /// Recognises `headers` as columns of `kind`, a mapping file's `columns` first.
    public init(headers: [String], kind: ImportKind, mapping: [String: String] = [:]) throws(ImportError) {
        self.headers = headers
        persian = headers.contains { $0.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) } }
        var byName: [String: Field] = [:]
        for field in kind.fields {
            for synonym in field.synonyms { byName[Field.comparable(synonym)] = byName[Field.comparable(synonym)] ?? field }
        }
        var mapped: [String: Field] = [:]
        for (header, fieldName) in mapping {
            guard let field = Field(rawValue: fieldName) ?? Field.allCases.first(where: { "\($0)" == fieldName }),
                kind.fields.contains(field)
            else {
                throw ImportError(
                    "the mapping names \(fieldName) for column \(header); a \(kind.rawValue) file has "
                        + kind.fields.map(\.rawValue).joined(separator: ", "))
            }
            mapped[Field.comparable(header)] = field
        }
        var fields: [Int: Field] = [:]
        var taken = Set<Field>()
        // The mapping's columns first, so a column it names wins over one recognised by name.
        for names in [mapped, byName] {
            for (index, header) in headers.enumerated() where fields[index] == nil {
                guard let field = names[Field.comparable(header)], !taken.contains(field) else { continue }
                fields[index] = field
                taken.insert(field)
            }
        }
        let missing = kind.required.filter { !taken.contains($0) }
        guard missing.isEmpty else {
            throw ImportError(
                "no column for " + missing.map { "\($0.rawValue) (\($0.persian))" }.joined(separator: ", ")
                    + " among the headers " + headers.map { "\"\($0)\"" }.joined(separator: ", ")
                    + "; name it so, or map it with --mapping")
        }
        self.fields = fields
    }

    /// The column index of `field`, if the file has it.
    public func column(of field: Field) -> Int? { fields.first { $0.value == field }?.key }

    /// The cell of `field` in `row`, trimmed; nil when the column is absent or the cell empty.
    public func value(_ field: Field, in row: [String]) -> String? {
        guard let index = column(of: field), index < row.count else { return nil }
        return CellValues.trimmed(row[index])
    }
}

/// A file that cannot be imported at all (as opposed to a row that is rejected).
public struct ImportError: Error, CustomStringConvertible {
    /// What is wrong, for the person importing.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
