import CRMEvents
import JSONKit

// The rows of crm-facts' tables, one Codable type per table, written and read through crmd's
// own JSON coder (Table<Row>). Rows that queries show as they are also say how they look on
// the wire (`json`), members in a fixed order and absent values as null, so a change of the
// stored form never changes a response.

/// A personal value kept as the event's own ciphertext: opened with the customer's key only
/// when a query shows it, so forgetting the customer erases it here without a rewrite.
struct SealedValue: Codable, Equatable {
    /// A sealed plain string (as registration seals names and birthdays).
    var sealedText: String?
    /// Sealed plain strings (as registration seals phones and emails).
    var sealedTexts: [String]?
    /// A sealed JSON value (as `customer.edit` seals new values).
    var sealedJSON: String?

    /// A sealed plain string.
    static func text(_ sealed: Sealed) -> SealedValue { SealedValue(sealedText: sealed.text) }
    /// Sealed plain strings.
    static func texts(_ sealed: [Sealed]) -> SealedValue { SealedValue(sealedTexts: sealed.map(\.text)) }
    /// A sealed JSON value.
    static func json(_ sealed: Sealed) -> SealedValue { SealedValue(sealedJSON: sealed.text) }

    /// The plain value, or null when there is no key (forgotten) or nothing stored.
    static func open(_ value: SealedValue?, with key: DataKey?) -> JSON {
        guard let key, let value else { return .null }
        if let text = value.sealedText { return key.open(Sealed(text: text)).map(JSON.string) ?? .null }
        if let texts = value.sealedTexts {
            return .array(texts.compactMap { key.open(Sealed(text: $0)) }.map(JSON.string))
        }
        if let text = value.sealedJSON { return key.open(Sealed(text: text)).flatMap { try? JSON.parse($0) } ?? .null }
        return .null
    }
}

/// `customers`: a customer as lists, search and reports need them; personal values sealed.
struct CustomerRow: Codable, Equatable {
    var customerId: String
    var agentId: String
    var branchId: String?
    var kind: String
    var tags: [String]
    var channel: String?
    var campaign: String?
    var registeredAt: String
    var registeredMicros: Int64
    var name: SealedValue?
    var phones: SealedValue?
    var emails: SealedValue?
    var birthday: SealedValue?
    var forgotten: Bool
}

/// One line of an invoice, as sales by product count it.
struct SaleLine: Codable, Equatable {
    var productId: String
    var quantity: Int64
    var amount: Int64
}

/// `sales`: an invoice, keyed by its issue time, with what was paid and whether it was voided.
struct SaleRow: Codable, Equatable, HandWrittenRow {
    var invoiceId: String
    var customerId: String
    var agentId: String
    var branchId: String?
    var channel: String?
    var campaign: String?
    var issuedAt: String
    var currency: String
    var total: Int64
    var paid: Int64
    var void: Bool
    var dueAt: String?
    var dueMicros: Int64?
    var lines: [SaleLine]

    /// What is still to be paid.
    var open: Int64 { total - paid }

    var json: JSON {
        .object([
            "invoiceId": .string(invoiceId), "customerId": .string(customerId), "agentId": .string(agentId),
            "branchId": branchId.map(JSON.string) ?? .null, "channel": channel.map(JSON.string) ?? .null,
            "campaign": campaign.map(JSON.string) ?? .null, "issuedAt": .string(issuedAt),
            "currency": .string(currency),
            "total": .int(total), "paid": .int(paid), "void": .bool(void), "dueAt": dueAt.map(JSON.string) ?? .null,
            "dueMicros": dueMicros.map(JSON.int) ?? .null,
            "lines": .array(
                lines.map {
                    .object([
                        "productId": .string($0.productId), "quantity": .int($0.quantity), "amount": .int($0.amount),
                    ])
                }),
        ])
    }
}

/// `quotes`: a quote, keyed by the time it was given.
struct QuoteRow: Codable, Equatable {
    var quoteId: String
    var customerId: String
    var agentId: String
    var givenAt: String
    var total: Int64
    var currency: String
    var validUntil: String?
    var channel: String

    /// The quote as agendas and views show it.
    var json: JSONObject {
        [
            "quoteId": .string(quoteId), "customerId": .string(customerId), "agentId": .string(agentId),
            "givenAt": .string(givenAt),
            "total": .int(total), "currency": .string(currency), "validUntil": validUntil.map(JSON.string) ?? .null,
            "channel": .string(channel),
        ]
    }
}

/// `interactions`: a call, meeting, email, SMS, note or negotiation, keyed by business time.
struct InteractionRow: Codable, Equatable, HandWrittenRow {
    var customerId: String
    var agentId: String
    var kind: String
    var at: String
    var outcome: String?
    var direction: String?

    var json: JSON {
        .object([
            "customerId": .string(customerId), "agentId": .string(agentId), "kind": .string(kind), "at": .string(at),
            "outcome": outcome.map(JSON.string) ?? .null, "direction": direction.map(JSON.string) ?? .null,
        ])
    }
}

/// `last-contacts`: a customer's last call, meeting, email or SMS (stored after its business time).
struct LastContactRow: Codable, Equatable, HandWrittenRow {
    var at: String
    var kind: String
    var agentId: String
    var outcome: String?

    /// The contact as the dormant report shows it, and as it is stored.
    var json: JSON {
        .object([
            "at": .string(at), "kind": .string(kind), "agentId": .string(agentId),
            "outcome": outcome.map(JSON.string) ?? .null,
        ])
    }
}

/// `payments`: a payment, keyed by its business time.
struct PaymentRow: Codable, Equatable {
    var invoiceId: String
    var customerId: String
    var agentId: String?
    var amount: Int64
    var currency: String
    var at: String
}

/// A deal's arrival in a stage, at a recorded time.
struct StageStep: Codable, Equatable {
    var stage: String
    var at: Int64
}

/// `deals`: a deal with every stage it passed through.
struct DealRow: Codable, Equatable, HandWrittenRow {
    var dealId: String
    var customerId: String
    var agentId: String
    var branchId: String?
    var channel: String?
    var campaign: String?
    var pipelineId: String
    var stage: String
    var outcome: String
    var openedMicros: Int64
    var value: Money?
    var history: [StageStep]
    var closedMicros: Int64?
    var lostReason: String?
    var lostFrom: String?

    /// When the deal last changed stage.
    var lastMove: Int64 { history.last?.at ?? 0 }

    /// The deal as stored and as an agent's view shows it; the closing members only once it closed.
    var json: JSON { .object(members) }

    /// The deal's members, in the order they are shown.
    var members: JSONObject {
        var object: JSONObject = [
            "dealId": .string(dealId), "customerId": .string(customerId), "agentId": .string(agentId),
            "branchId": branchId.map(JSON.string) ?? .null, "channel": channel.map(JSON.string) ?? .null,
            "campaign": campaign.map(JSON.string) ?? .null, "pipelineId": .string(pipelineId), "stage": .string(stage),
            "outcome": .string(outcome), "openedMicros": .int(openedMicros), "value": MoneyJSON.of(value),
            "history": .array(history.map { .object(["stage": .string($0.stage), "at": .int($0.at)]) }),
        ]
        if let closedMicros { object["closedMicros"] = .int(closedMicros) }
        if let lostReason { object["lostReason"] = .string(lostReason) }
        if let lostFrom { object["lostFrom"] = .string(lostFrom) }
        return object
    }
}

/// `followups`: a follow-up on an agent's agenda and what became of it.
struct FollowupRow: Codable, Equatable, HandWrittenRow {
    var followupId: String
    var customerId: String
    var agentId: String
    var due: String
    var dueMicros: Int64
    var kind: String
    var status: String
    var deferrals: Int64
    var scheduledAt: String

    var json: JSON {
        .object([
            "followupId": .string(followupId), "customerId": .string(customerId), "agentId": .string(agentId),
            "due": .string(due), "dueMicros": .int(dueMicros), "kind": .string(kind), "status": .string(status),
            "deferrals": .int(deferrals), "scheduledAt": .string(scheduledAt),
        ])
    }
}

/// `deferrals`: a follow-up moved to a later time, keyed by when that was recorded.
struct DeferralRow: Codable, Equatable {
    var followupId: String
    var customerId: String
    var agentId: String
    var kind: String?
    var from: String
    var to: String
}

/// `contracts`: a support contract, keyed by its expiry.
struct ContractRow: Codable, Equatable {
    var contractId: String
    var customerId: String
    var productId: String?
    var expiresOn: String

    /// The contract as an agenda shows it.
    var json: JSONObject {
        [
            "contractId": .string(contractId), "customerId": .string(customerId),
            "productId": productId.map(JSON.string) ?? .null,
            "expiresOn": .string(expiresOn),
        ]
    }
}

/// `agents`: a member of staff.
struct AgentRow: Codable, Equatable {
    var agentId: String
    var name: String
    var role: String
    var branchId: String?
    var left: Bool
    var successorId: String?
}

/// `branches`: a branch or representative.
struct BranchRow: Codable, Equatable {
    var branchId: String
    var name: String
    var region: String
    var kind: String
}

/// `products`: the catalogue.
struct ProductRow: Codable, Equatable {
    var productId: String
    var name: String
    var unitPrice: Money
    var retired: Bool
}

/// `targets`: a sales target for a period and a scope (company, agent or branch).
struct TargetRow: Codable, Equatable {
    var targetId: String
    var period: String
    var calendar: String
    var scope: String
    var scopeId: String?
    var amount: Money
    var setAt: String

    /// The target as the targets report shows it.
    var json: JSONObject {
        [
            "targetId": .string(targetId), "period": .string(period), "calendar": .string(calendar),
            "scope": .string(scope),
            "scopeId": scopeId.map(JSON.string) ?? .null, "amount": MoneyJSON.of(amount), "setAt": .string(setAt),
        ]
    }
}

/// `pipelines`: a pipeline's stages, in order.
struct PipelineRow: Codable, Equatable {
    var pipelineId: String
    var stages: [String]
}

/// Money as responses show it: `{"amount", "currency"}`, or null.
enum MoneyJSON {
    static func of(_ money: Money?) -> JSON {
        money.map { .object(["amount": .int($0.amount), "currency": .string($0.currency)]) } ?? .null
    }
}

/// A row written once per interaction, most of a CRM's log, whose JSON is written out by hand
/// instead of through the Codable encoder: a rebuild of crm-facts over the 212k-event demo log
/// spent about a tenth of its fold building these two rows through the generic containers.
/// It is read back through the coder like any row; a test pins both forms to each other.
protocol HandWrittenRow: Codable {
    /// The row as stored: the same members the Codable encoding writes, absent values as null.
    var json: JSON { get }
}

/// A table of the read models whose rows are one Codable type.
struct Table<Row: Codable>: Sendable {
    /// The LMDB database's name.
    let name: String

    init(_ name: String) { self.name = name }
}
