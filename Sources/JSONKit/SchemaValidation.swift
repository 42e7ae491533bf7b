import Foundation

/// Shared definitions every schema may reference as `#/$defs/<name>`.
public enum SchemaDefinitions {
    /// The largest amount crmd accepts: 2^53 - 1, so every JSON implementation reads it exactly.
    public static let maxAmount: Int64 = 9_007_199_254_740_991

    /// The definitions by name.
    public static let all: [String: Schema] = [
        "id": .described(
            .string(StringRule(pattern: .id)), "A client-chosen or generated identifier (docs/protocol.md)."),
        "currency": .described(
            .string(
                StringRule(
                    pattern: .currency, values: Currency.codes,
                    valuesName: "an ISO 4217 currency code such as IRR or EUR")),
            "An active ISO 4217 code."),
        "money": .described(
            .object(
                ObjectRule(
                    [
                        ("amount", .integer(minimum: 0, maximum: maxAmount)),
                        ("currency", .ref("currency")),
                    ], required: ["amount", "currency"])),
            "An integer count of the currency's minor unit (IRR has none)."),
        "dateTime": .described(.string(StringRule(pattern: .dateTime)), "RFC 3339 time."),
        "date": .described(.string(StringRule(pattern: .date)), "A calendar date (Gregorian)."),
        "sealed": .described(
            .string(StringRule(pattern: .sealed)),
            "Personal data encrypted with the customer's data key (AES-GCM); unreadable once the customer is forgotten."
        ),
        "line": .described(
            .object(
                ObjectRule(
                    [
                        ("productId", .ref("id")),
                        ("quantity", .integer(minimum: 1, maximum: 1_000_000_000)),
                        ("unitPrice", .ref("money")),
                    ], required: ["productId", "quantity", "unitPrice"])),
            "One line of a quote or invoice: product, quantity and unit price."),
    ]

    /// The names a schema refers to, directly and through other definitions, sorted.
    static func references(of schema: Schema) -> [String] {
        var found = Set<String>()
        func walk(_ schema: Schema) {
            switch schema {
            case .ref(let name):
                if found.insert(name).inserted, let definition = all[name] { walk(definition) }
            case .array(let items, _, _): walk(items)
            case .object(let rule): rule.properties.forEach { walk($0.schema) }
            case .nullable(let inner), .described(let inner, _): walk(inner)
            case .anyOf(let options): options.forEach(walk)
            case .string, .integer, .boolean, .any, .number, .constant: break
            }
        }
        walk(schema)
        return found.sorted()
    }
}

extension Schema {
    /// Checks `value`, returning the first violation in document order.
    ///
    /// The JSON pointer is built only on failure: a valid request (the common case) costs no
    /// string work at all.
    public func validate(_ value: JSON) -> SchemaViolation? {
        guard let failure = check(value) else { return nil }
        return SchemaViolation(
            path: failure.segments.reversed().map { "/" + Schema.escape($0) }.joined(), message: failure.message)
    }

    /// A violation found below: the pointer's segments innermost first, and the message.
    private struct Failure {
        var segments: [String]
        var message: String

        init(_ message: String) {
            self.segments = []
            self.message = message
        }

        func under(_ segment: String) -> Failure {
            var copy = self
            copy.segments.append(segment)
            return copy
        }
    }

    private func check(_ value: JSON) -> Failure? {
        func fail(_ message: String) -> Failure { Failure(message) }
        switch self {
        case .any:
            return nil
        case .described(let inner, _):
            return inner.check(value)
        case .nullable(let inner):
            if case .null = value { return nil }
            return inner.check(value)
        case .ref(let name):
            guard let definition = SchemaDefinitions.all[name] else {
                return fail("schema refers to unknown definition \(name)")
            }
            return definition.check(value)
        case .number:
            switch value {
            case .int, .double: return nil
            default: return fail("must be a number, not \(value.typeName)")
            }
        case .constant(let expected):
            return value == expected ? nil : fail("must be \(expected.serialized())")
        case .anyOf(let options):
            var closest: Failure?
            for option in options {
                guard let failure = option.check(value) else { return nil }
                if closest == nil || failure.segments.count > closest!.segments.count { closest = failure }
            }
            return closest
        case .boolean:
            if case .bool = value { return nil }
            return fail("must be a boolean, not \(value.typeName)")
        case .integer(let minimum, let maximum):
            return Schema.checkInteger(value, minimum: minimum, maximum: maximum)
        case .string(let rule):
            return Schema.checkString(value, rule)
        case .array(let items, let minItems, let maxItems):
            return Schema.checkArray(value, items: items, minItems: minItems, maxItems: maxItems)
        case .object(let rule):
            return Schema.checkObject(value, rule)
        }
    }

    private static func checkInteger(_ value: JSON, minimum: Int64?, maximum: Int64?) -> Failure? {
        let number: Int64
        switch value {
        case .int(let i): number = i
        case .double(let d) where d == d.rounded() && abs(d) < 9.2e18: number = Int64(d)
        default: return Failure("must be an integer, not \(value.typeName)")
        }
        if let minimum, number < minimum { return Failure("must be at least \(minimum)") }
        if let maximum, number > maximum { return Failure("must be at most \(maximum)") }
        return nil
    }

    private static func checkString(_ value: JSON, _ rule: StringRule) -> Failure? {
        guard case .string(let text) = value else { return Failure("must be a string, not \(value.typeName)") }
        let length = text.unicodeScalars.count
        if length < rule.minLength {
            return Failure(
                rule.minLength == 1 ? "must not be empty" : "must have at least \(rule.minLength) characters")
        }
        if let max = rule.maxLength, length > max { return Failure("must have at most \(max) characters") }
        if let values = rule.values, !values.contains(text) {
            return Failure("must be " + (rule.valuesName ?? "one of: \(values.joined(separator: ", "))"))
        }
        if let pattern = rule.pattern, !pattern.matches(text) { return Failure("must be \(pattern.explanation)") }
        return nil
    }

    private static func checkArray(_ value: JSON, items: Schema, minItems: Int, maxItems: Int?) -> Failure? {
        guard case .array(let elements) = value else { return Failure("must be an array, not \(value.typeName)") }
        if elements.count < minItems {
            return Failure("must have at least \(minItems) item\(minItems == 1 ? "" : "s")")
        }
        if let maxItems, elements.count > maxItems { return Failure("must have at most \(maxItems) items") }
        for (i, element) in elements.enumerated() {
            if let failure = items.check(element) { return failure.under(String(i)) }
        }
        return nil
    }

    private static func checkObject(_ value: JSON, _ rule: ObjectRule) -> Failure? {
        guard case .object(let object) = value else { return Failure("must be an object, not \(value.typeName)") }
        for name in rule.required where object[name] == nil {
            return Failure("is required").under(name)
        }
        for member in object.members {
            guard let property = rule.properties.first(where: { $0.name == member.key }) else {
                if rule.open { continue }
                return Failure("is not a known field").under(member.key)
            }
            if let failure = property.schema.check(member.value) { return failure.under(member.key) }
        }
        return nil
    }

    /// Escapes one JSON-pointer segment (RFC 6901).
    static func escape(_ segment: String) -> String {
        segment.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }

    /// The schema as a JSON Schema value (without `$schema`, `$id` or `$defs`).
    public var json: JSON {
        switch self {
        case .any:
            return .object(JSONObject())
        case .described(let inner, let text):
            guard case .object(var object) = inner.json else { return inner.json }
            object["description"] = .string(text)
            return .object(object)
        case .nullable(let inner):
            return .object(["anyOf": .array([inner.json, .object(["type": "null"])])])
        case .ref(let name):
            return .object(["$ref": .string("#/$defs/\(name)")])
        case .boolean:
            return .object(["type": "boolean"])
        case .number:
            return .object(["type": "number"])
        case .constant(let value):
            return .object(["const": value])
        case .anyOf(let options):
            return .object(["anyOf": .array(options.map(\.json))])
        case .integer(let minimum, let maximum):
            var object: JSONObject = ["type": "integer"]
            if let minimum { object["minimum"] = .int(minimum) }
            if let maximum { object["maximum"] = .int(maximum) }
            return .object(object)
        case .string(let rule):
            var object: JSONObject = ["type": "string"]
            if rule.minLength > 0 { object["minLength"] = .int(Int64(rule.minLength)) }
            if let max = rule.maxLength { object["maxLength"] = .int(Int64(max)) }
            if let values = rule.values { object["enum"] = .array(values.map(JSON.string)) }
            if let pattern = rule.pattern { object["pattern"] = .string(pattern.regex) }
            return .object(object)
        case .array(let items, let minItems, let maxItems):
            var object: JSONObject = ["type": "array", "items": items.json]
            if minItems > 0 { object["minItems"] = .int(Int64(minItems)) }
            if let maxItems { object["maxItems"] = .int(Int64(maxItems)) }
            return .object(object)
        case .object(let rule):
            var properties = JSONObject()
            for property in rule.properties { properties[property.name] = property.schema.json }
            var object: JSONObject = ["type": "object", "properties": .object(properties)]
            if !rule.required.isEmpty { object["required"] = .array(rule.required.map(JSON.string)) }
            if !rule.open { object["additionalProperties"] = .bool(false) }
            return .object(object)
        }
    }

    /// A complete, self-contained schema file: `$schema`, `$id`, title and the definitions it uses.
    public func document(id: String, title: String) -> JSON {
        var object: JSONObject = [
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": .string("https://crmd.example/schemas/\(id)"),
            "title": .string(title),
        ]
        if case .object(let body) = json { for member in body.members { object[member.key] = member.value } }
        let references = SchemaDefinitions.references(of: self)
        if !references.isEmpty {
            var defs = JSONObject()
            for name in references { defs[name] = SchemaDefinitions.all[name]!.json }
            object["$defs"] = .object(defs)
        }
        return .object(object)
    }
}

extension JSON: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral {
    /// A string value from a literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An integer value from a literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A boolean value from a literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}
