import JSONKit

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
