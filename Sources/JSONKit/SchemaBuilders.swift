/// Short spellings for the schemas of commands and events, so each definition reads as a table.
extension Schema {
    /// A client-chosen or generated identifier.
    public static let id = Schema.ref("id")
    /// Personal data, encrypted with the customer's key.
    public static let sealed = Schema.ref("sealed")
    /// An amount with its currency.
    public static let money = Schema.ref("money")
    /// An ISO 4217 code.
    public static let currency = Schema.ref("currency")
    /// An RFC 3339 time.
    public static let dateTime = Schema.ref("dateTime")
    /// A calendar date.
    public static let date = Schema.ref("date")
    /// A document line.
    public static let line = Schema.ref("line")
    /// A non-negative integer count of the currency's minor unit.
    public static let amount = Schema.integer(minimum: 0, maximum: SchemaDefinitions.maxAmount)

    /// Plain text of 1 to `max` characters.
    public static func text(_ max: Int) -> Schema { .string(StringRule(minLength: 1, maxLength: max)) }
    /// A string from a fixed list.
    public static func choice(_ values: [String]) -> Schema { .string(StringRule(values: values)) }
    /// A string matching one of crmd's patterns.
    public static func matching(_ pattern: Pattern) -> Schema { .string(StringRule(pattern: pattern)) }
    /// An array of `items`, at most `max` long.
    public static func list(_ items: Schema, min: Int = 0, max: Int) -> Schema {
        .array(items, minItems: min, maxItems: max)
    }
    /// An object with exactly these members, the listed ones required.
    public static func record(_ properties: KeyValuePairs<String, Schema>, required: [String]) -> Schema {
        .object(ObjectRule(properties.map { ($0.key, $0.value) }, required: required))
    }
}

extension Schema {
    /// The same object schema with one more member (a field every version of a family gains).
    public func adding(_ name: String, _ member: Schema, required: Bool) -> Schema {
        switch self {
        case .object(var rule):
            rule.properties.append((name: name, schema: member))
            if required { rule.required.append(name) }
            return .object(rule)
        case .described(let inner, let text):
            return .described(inner.adding(name, member, required: required), text)
        default:
            preconditionFailure("only an object schema gains members")
        }
    }
}
