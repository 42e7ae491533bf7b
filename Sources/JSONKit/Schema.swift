/// A JSON Schema (draft 2020-12 subset) that crmd both enforces and publishes under `schemas/`.
///
/// The Swift definitions are the source of truth: `Schema.document` renders the checked-in
/// files and `validate` enforces the same rules, so the files and the code cannot drift.
public indirect enum Schema: Sendable {
    case string(StringRule)
    case integer(minimum: Int64?, maximum: Int64?)
    case boolean
    case array(Schema, minItems: Int, maxItems: Int?)
    case object(ObjectRule)
    /// A shared definition from `SchemaDefinitions`, rendered as `#/$defs/<name>`.
    case ref(String)
    /// Any JSON value (used for a field's old and new value in an edit).
    case any
    /// The value or JSON null.
    case nullable(Schema)
    /// A description for people, carried into the rendered file.
    case described(Schema, String)
    /// Any JSON number.
    case number
    /// Exactly this value.
    case constant(JSON)
    /// At least one of these.
    case anyOf([Schema])
}

/// Limits on a string value.
public struct StringRule: Sendable {
    /// Minimum length in Unicode code points, as JSON Schema counts.
    public var minLength: Int
    /// Maximum length in Unicode code points.
    public var maxLength: Int?
    /// A named pattern the value must match.
    public var pattern: Pattern?
    /// The only values allowed, when set.
    public var values: [String]?
    /// How to name the allowed values in an error, when listing them would not help.
    public var valuesName: String?

    /// Describes a string's limits.
    public init(
        minLength: Int = 0, maxLength: Int? = nil, pattern: Pattern? = nil, values: [String]? = nil,
        valuesName: String? = nil
    ) {
        self.minLength = minLength
        self.maxLength = maxLength
        self.pattern = pattern
        self.values = values
        self.valuesName = valuesName
    }
}

/// Members of an object value; members not listed are refused.
public struct ObjectRule: Sendable {
    /// The members in the order they are documented.
    public var properties: [(name: String, schema: Schema)]
    /// Members that must be present.
    public var required: [String]
    /// Whether members not listed are allowed (and not checked).
    public var open: Bool

    /// Describes an object's members.
    public init(_ properties: [(String, Schema)], required: [String], open: Bool = false) {
        self.properties = properties.map { (name: $0.0, schema: $0.1) }
        self.required = required
        self.open = open
    }
}

/// The closed set of string patterns crmd uses, each with its ECMA-262 regex and a native check.
public enum Pattern: String, Sendable, CaseIterable {
    case id, currency, dateTime, date, period, sealed, phone, email, sha256

    /// The regex published in the schema files (anchored, ECMA-262 and Python compatible).
    public var regex: String {
        switch self {
        case .id: #"^[A-Za-z0-9._-]{1,64}$"#
        case .currency: #"^[A-Z]{3}$"#
        case .dateTime:
            #"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})$"#
        case .date: #"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"#
        case .period: #"^[0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?$"#
        case .sealed: #"^v1\.[A-Za-z0-9+/]+={0,2}$"#
        case .phone: #"^\+?[0-9۰-۹٠-٩ ()-]{3,32}$"#
        case .email: #"^[^@\s]+@[^@\s]+\.[^@\s]+$"#
        case .sha256: #"^[0-9a-f]{64}$"#
        }
    }

    /// What a matching value looks like, for error messages.
    public var explanation: String {
        switch self {
        case .id: "an id of 1-64 characters from A-Z, a-z, 0-9, '.', '_', '-'"
        case .currency: "an ISO 4217 currency code such as IRR or EUR"
        case .dateTime: "an RFC 3339 time such as 2026-03-03T09:30:00+03:30"
        case .date: "a date such as 2026-03-03"
        case .period: "a period such as 2026, 2026-03 or 2026-Q1"
        case .sealed: "an encrypted value (v1.<base64>)"
        case .phone: "a phone number of 3-32 digits, spaces, '+', '(', ')' or '-'"
        case .email: "an email address such as name@example.com"
        case .sha256: "64 lowercase hex digits"
        }
    }

    /// Whether `text` matches the pattern; the same language as `regex`.
    public func matches(_ text: String) -> Bool {
        let scalars = Array(text.unicodeScalars)
        func all(_ range: ArraySlice<Unicode.Scalar>, _ test: (Unicode.Scalar) -> Bool) -> Bool {
            range.allSatisfy(test)
        }
        func digits(_ range: ArraySlice<Unicode.Scalar>) -> Bool { all(range) { ("0"..."9").contains($0) } }
        switch self {
        case .id:
            return (1...64).contains(scalars.count)
                && all(scalars[...]) {
                    ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "."
                        || $0 == "_" || $0 == "-"
                }
        case .currency:
            return scalars.count == 3 && all(scalars[...]) { ("A"..."Z").contains($0) }
        case .date:
            return scalars.count == 10 && digits(scalars[0..<4]) && scalars[4] == "-" && digits(scalars[5..<7])
                && scalars[7] == "-" && digits(scalars[8..<10])
        case .dateTime:
            guard scalars.count >= 20, Pattern.date.matches(String(String.UnicodeScalarView(scalars[0..<10]))),
                scalars[10] == "T" || scalars[10] == "t", digits(scalars[11..<13]), scalars[13] == ":",
                digits(scalars[14..<16]), scalars[16] == ":", digits(scalars[17..<19])
            else { return false }
            var i = 19
            if scalars[i] == "." {
                let start = i + 1
                i = start
                while i < scalars.count, ("0"..."9").contains(scalars[i]) { i += 1 }
                guard (1...9).contains(i - start) else { return false }
            }
            guard i < scalars.count else { return false }
            if scalars[i] == "Z" || scalars[i] == "z" { return i + 1 == scalars.count }
            guard scalars[i] == "+" || scalars[i] == "-", scalars.count == i + 6 else { return false }
            return digits(scalars[(i + 1)..<(i + 3)]) && scalars[i + 3] == ":" && digits(scalars[(i + 4)..<(i + 6)])
        case .period:
            guard scalars.count >= 4, digits(scalars[0..<4]) else { return false }
            if scalars.count == 4 { return true }
            guard scalars.count == 7, scalars[4] == "-" else { return false }
            if scalars[5] == "Q" { return ("1"..."4").contains(scalars[6]) }
            guard digits(scalars[5..<7]), let month = Int(String(String.UnicodeScalarView(scalars[5..<7]))) else {
                return false
            }
            return (1...12).contains(month)
        case .sealed:
            guard scalars.count > 3, scalars[0] == "v", scalars[1] == "1", scalars[2] == "." else { return false }
            var body = scalars[3...]
            var padding = 0
            while let last = body.last, last == "=" { body = body.dropLast(); padding += 1 }
            return !body.isEmpty && padding <= 2
                && all(body) {
                    ("A"..."Z").contains($0) || ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "+"
                        || $0 == "/"
                }
        case .phone:
            var body = scalars[...]
            if body.first == "+" { body = body.dropFirst() }
            return (3...32).contains(body.count)
                && all(body) {
                    ("0"..."9").contains($0) || ("۰"..."۹").contains($0) || ("٠"..."٩").contains($0)
                        || $0 == " " || $0 == "(" || $0 == ")" || $0 == "-"
                }
        case .sha256:
            return scalars.count == 64 && all(scalars[...]) { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
        case .email:
            let isSpace: (Unicode.Scalar) -> Bool = { $0.properties.isWhitespace }
            guard let at = scalars.firstIndex(of: "@"), at > 0, scalars.lastIndex(of: "@") == at else { return false }
            let domain = scalars[(at + 1)...]
            guard !scalars.contains(where: isSpace), let dot = domain.lastIndex(of: "."),
                dot > domain.startIndex, dot < scalars.count - 1
            else { return false }
            return true
        }
    }
}

/// One schema violation: where (a JSON pointer) and why.
public struct SchemaViolation: Error, Equatable, Sendable, CustomStringConvertible {
    /// RFC 6901 pointer to the offending value; empty for the whole document.
    public var path: String
    /// What is wrong, for a person.
    public var message: String

    /// Describes a violation.
    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
