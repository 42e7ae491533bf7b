import CRMEvents
import EventStore

/// Typed access to a query's validated arguments.
struct QueryArguments {
    let json: JSON

    func string(_ name: String) -> String? { json[name]?.stringValue }

    func int(_ name: String) -> Int64? { json[name]?.intValue }

    func strings(_ name: String) -> [String]? { json[name]?.arrayValue?.compactMap(\.stringValue) }

    /// An RFC 3339 argument as microseconds; `fallback` when absent.
    func time(_ name: String, _ fallback: Int64? = nil) throws(QueryError) -> Int64? {
        guard let text = string(name) else { return fallback }
        guard let time = Timestamp(rfc3339: text) else { throw QueryError("invalid_args", "/\(name): is not a valid time", path: "/\(name)") }
        return time.microsecondsSince1970
    }

    /// A required RFC 3339 argument.
    func requiredTime(_ name: String) throws(QueryError) -> Int64 {
        guard let time = try time(name) else { throw QueryError("invalid_args", "/\(name): is required", path: "/\(name)") }
        return time
    }
}

/// Amounts per currency: reports never add different currencies together.
struct Amounts {
    private(set) var totals: [String: Int64] = [:]

    mutating func add(_ amount: Int64, _ currency: String) { totals[currency, default: 0] += amount }

    var json: JSON {
        var object = JSONObject()
        for currency in totals.keys.sorted() { object[currency] = .int(totals[currency]!) }
        return .object(object)
    }
}
