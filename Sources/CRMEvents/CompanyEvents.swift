import JSONKit
/// A product entered the catalogue with its list price.
///
/// Schema v2 replaced v1's separate `price` and `currency` with `unitPrice` and added `unit`;
/// `ProductDefinedV1` below upcasts old events on read. v3 added the business time `at`.
public struct ProductDefined: EventPayload {
    public static let eventType = "ProductDefined"
    public static let schemaVersion: UInt32 = 3
    public static let schema = Schema.record(
        [
            "productId": .id, "name": .text(200), "unitPrice": .money, "unit": .text(32),
        ], required: ["productId", "name", "unitPrice", "unit"])
    public var productId: String
    public var name: String
    public var unitPrice: Money
    /// What one quantity means: `piece`, `kg`, `licence-year`, …
    public var unit: String

    /// Describes a product.
    public init(productId: String, name: String, unitPrice: Money, unit: String) {
        self.productId = productId
        self.name = name
        self.unitPrice = unitPrice
        self.unit = unit
    }
}

/// `ProductDefined` as schema v1 wrote it (before 2026-11): a bare price and currency, no unit.
public struct ProductDefinedV1: Codable, Equatable, Sendable {
    /// The v1 payload schema, kept so old events stay checkable.
    public static let schema = Schema.record(
        [
            "productId": .id, "name": .text(200), "price": .amount, "currency": .currency,
        ], required: ["productId", "name", "price", "currency"])
    public var productId: String
    public var name: String
    public var price: Int64
    public var currency: String

    /// Describes a v1 payload (fixtures and tests write these).
    public init(productId: String, name: String, price: Int64, currency: String) {
        self.productId = productId
        self.name = name
        self.price = price
        self.currency = currency
    }

    /// The v2 event this one means: v1 products were always sold by the piece.
    public var upcast: ProductDefined {
        ProductDefined(
            productId: productId, name: name, unitPrice: Money(amount: price, currency: currency), unit: "piece")
    }
}

/// A product's list price changed; earlier quotes keep the price they were given.
public struct ProductRepriced: EventPayload {
    public static let eventType = "ProductRepriced"
    public static let schema = Schema.record(
        ["productId": .id, "from": .money, "to": .money],
        required: ["productId", "from", "to"])
    public var productId: String
    public var from: Money
    public var to: Money

    /// Describes a price change.
    public init(productId: String, from: Money, to: Money) {
        self.productId = productId
        self.from = from
        self.to = to
    }
}

/// A product left the catalogue: it can no longer be quoted or invoiced.
public struct ProductRetired: EventPayload {
    public static let eventType = "ProductRetired"
    public static let schema = Schema.record(["productId": .id], required: ["productId"])
    public var productId: String

    /// Describes a retirement.
    public init(productId: String) { self.productId = productId }
}

/// A staff member joined.
public struct AgentHired: EventPayload {
    public static let eventType = "AgentHired"
    public static let schema = Schema.record(
        [
            "agentId": .id, "name": .text(200), "role": .choice(["agent", "manager"]), "branchId": .id,
        ], required: ["agentId", "name", "role"])
    public var agentId: String
    public var name: String
    public var role: String
    public var branchId: String?

    /// Describes a hire.
    public init(agentId: String, name: String, role: String, branchId: String?) {
        self.agentId = agentId
        self.name = name
        self.role = role
        self.branchId = branchId
    }
}

/// A staff member left; every customer of theirs went to `successorId` in the same commit.
public struct AgentLeft: EventPayload {
    public static let eventType = "AgentLeft"
    public static let schema = Schema.record(
        [
            "agentId": .id, "successorId": .id, "reassigned": .integer(minimum: 0, maximum: nil),
        ], required: ["agentId", "successorId", "reassigned"])
    public var agentId: String
    public var successorId: String
    /// How many customers were reassigned alongside.
    public var reassigned: Int64

    /// Describes a departure.
    public init(agentId: String, successorId: String, reassigned: Int64) {
        self.agentId = agentId
        self.successorId = successorId
        self.reassigned = reassigned
    }
}

/// A branch or representative opened.
public struct BranchOpened: EventPayload {
    public static let eventType = "BranchOpened"
    public static let schema = Schema.record(
        [
            "branchId": .id, "name": .text(200), "region": .text(128), "kind": .choice(["branch", "representative"]),
        ], required: ["branchId", "name", "region", "kind"])
    public var branchId: String
    public var name: String
    public var region: String
    public var kind: String

    /// Describes a branch.
    public init(branchId: String, name: String, region: String, kind: String) {
        self.branchId = branchId
        self.name = name
        self.region = region
        self.kind = kind
    }
}

/// A sales target for a period, per agent, branch or the whole company; a later one replaces it.
public struct TargetSet: EventPayload {
    public static let eventType = "TargetSet"
    public static let schema = Schema.record(
        [
            "targetId": .id, "period": .matching(.period), "calendar": .choice(["gregorian", "persian"]),
            "scope": .choice(["company", "agent", "branch"]), "scopeId": .id, "amount": .money,
        ], required: ["targetId", "period", "calendar", "scope", "amount"])
    public var targetId: String
    /// `2026`, `2026-03` or `2026-Q1`, in `calendar`'s years and months.
    public var period: String
    public var calendar: String
    public var scope: String
    /// The agent or branch; absent for the company.
    public var scopeId: String?
    public var amount: Money

    /// Describes a target.
    public init(targetId: String, period: String, calendar: String, scope: String, scopeId: String?, amount: Money) {
        self.targetId = targetId
        self.period = period
        self.calendar = calendar
        self.scope = scope
        self.scopeId = scopeId
        self.amount = amount
    }
}
