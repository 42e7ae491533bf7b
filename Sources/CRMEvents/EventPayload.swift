import JSONKit
/// A CRM event's payload: a fact in the past tense with its type name, schema version and schema.
public protocol EventPayload: Codable, Equatable, Sendable {
    /// The event type stored in the envelope, e.g. `CallLogged`.
    static var eventType: String { get }
    /// The current schema version written by this code.
    static var schemaVersion: UInt32 { get }
    /// The JSON Schema of the payload's own fields at `schemaVersion` (the catalogue adds the
    /// business time `at` beside them, see `EventCatalogue`).
    static var schema: Schema { get }
}

extension EventPayload {
    /// Version 2 of every payload added its business time `at` beside the fields of version 1.
    public static var schemaVersion: UInt32 { 2 }
}

/// An amount in a currency's minor unit (rials have none) with its ISO 4217 code.
public struct Money: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Count of the minor unit.
    public var amount: Int64
    /// ISO 4217 code.
    public var currency: String

    /// Describes an amount.
    public init(amount: Int64, currency: String) {
        self.amount = amount
        self.currency = currency
    }

    public var description: String { "\(amount) \(currency)" }
}

/// One line of a quote, pro-forma or invoice.
public struct DocumentLine: Codable, Hashable, Sendable {
    public var productId: String
    public var quantity: Int64
    public var unitPrice: Money

    /// Describes a line.
    public init(productId: String, quantity: Int64, unitPrice: Money) {
        self.productId = productId
        self.quantity = quantity
        self.unitPrice = unitPrice
    }
}
