/// Why a row was not imported, said in English and in Persian, naming the column to fix.
public struct Rejection: Error, Sendable, Equatable {
    /// The spreadsheet row (the header is row 1).
    public var row: Int
    /// The column to fix, if one is to blame.
    public var field: Field?
    /// What is wrong, in English.
    public var english: String
    /// What is wrong, in Persian.
    public var persian: String

    /// The reason in the file's language.
    public func reason(persian inPersian: Bool) -> String { inPersian ? persian : english }

    static func empty(_ row: Int, _ field: Field) -> Rejection {
        Rejection(row: row, field: field, english: "\(field.rawValue) is empty", persian: "«\(field.persian)» خالی است")
    }

    static func unreadable(_ row: Int, _ field: Field, _ value: String, _ english: String, _ persian: String) -> Rejection {
        Rejection(
            row: row, field: field, english: "\"\(value)\" is not \(english)", persian: "«\(value)» \(persian) نیست")
    }

    static func date(_ row: Int, _ field: Field, _ value: String) -> Rejection {
        Rejection(
            row: row, field: field,
            english: "\"\(value)\" is not a date (write 2023-04-04 or 1402/01/15, with a time if you like)",
            persian: "«\(value)» تاریخ نیست (مثلاً ۱۴۰۲/۰۱/۱۵ یا 2023-04-04، با ساعت یا بی ساعت)")
    }

    /// A refusal by the daemon: its message, the column its argument came from, and the
    /// rule in Persian where crmd knows how to say it.
    static func refused(
        _ row: Int, code: String, message: String, path: String?, rule: String?, columns: [String: Field]
    ) -> Rejection {
        let field = path.flatMap { path in
            columns.first { path == $0.key || path.hasPrefix($0.key + "/") }?.value
        }
        let persian: String =
            switch rule ?? code {
            case "agent_outside_company": "کارشناس در شرکت نیست یا رفته است"
            case "at_in_future": "تاریخ در آینده است"
            case "payment_before_invoice": "پرداخت پیش از تاریخ فاکتور است"
            case "overpayment": "پرداختی بیش از مبلغ فاکتور است"
            case "customer_forgotten": "اطلاعات این مشتری به درخواست خودش پاک شده است"
            case "product_retired": "کالا از فهرست فروش خارج شده است"
            case "mixed_currencies": "واحد پول ردیف‌ها یکی نیست"
            case "amount_too_large": "مبلغ بیش از اندازه است"
            case "not_found": "پیدا نشد: " + message
            case "invalid_args": "مقدار نادرست: " + message
            default: "سامانه نپذیرفت: " + message
            }
        return Rejection(row: row, field: field, english: message, persian: persian)
    }
}
