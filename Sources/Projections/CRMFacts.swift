import CRMEvents
import EventStore
import Foundation
import JSONKit

/// Personal data as read models keep it: the event's own ciphertext, tagged with how to read
/// it back. Nothing is re-encrypted, so folding stays deterministic and a rebuild is identical.
enum PersonalValue {
    /// A sealed plain string (as registration seals names and birthdays).
    static func text(_ sealed: Sealed) -> JSON { .object(["sealedText": .string(sealed.text)]) }
    /// Sealed plain strings (as registration seals phones and emails).
    static func texts(_ sealed: [Sealed]) -> JSON { .object(["sealedTexts": .array(sealed.map { .string($0.text) })]) }
    /// A sealed JSON value (as `customer.edit` seals new values).
    static func json(_ sealed: Sealed) -> JSON { .object(["sealedJSON": .string(sealed.text)]) }

    /// The plain value, or null when there is no key (forgotten) or nothing stored.
    static func open(_ value: JSON?, with key: DataKey?) -> JSON {
        guard let key, let value else { return .null }
        if let text = value["sealedText"]?.stringValue { return key.open(Sealed(text: text)).map(JSON.string) ?? .null }
        if let texts = value["sealedTexts"]?.arrayValue {
            return .array(texts.compactMap { $0.stringValue.flatMap { key.open(Sealed(text: $0)) } }.map(JSON.string))
        }
        if let text = value["sealedJSON"]?.stringValue { return key.open(Sealed(text: text)).flatMap { try? JSON.parse($0) } ?? .null }
        return .null
    }
}

/// The CRM's read models for search, agendas and reports: customers, documents, interactions,
/// deals, follow-ups and the company, kept as JSON rows and time-ordered fact tables.
///
/// Reports aggregate over fact tables at query time (a range scan by time), so a report nobody
/// planned needs no new projection, and every figure comes from rows a person can trace to
/// events. Personal values are kept sealed with the customer's key and opened only when a
/// query shows them, so forgetting a customer erases
/// them here without rewriting anything; their search tokens are deleted. (Personal values are
/// the events' own ciphertext, see `PersonalValue`.)
public struct CRMFacts: Projection {
    public static let name = "crm-facts"
    public static let version = 3

    static let customers = "customers"
    static let customersByAgent = "customers-by-agent"
    static let customersByTag = "customers-by-tag"
    static let sales = "sales"
    static let invoiceKeys = "invoice-keys"
    static let quotes = "quotes"
    static let quotesByExpiry = "quotes-by-expiry"
    static let interactions = "interactions"
    static let payments = "payments"
    static let deals = "deals"
    static let followups = "followups"
    static let followupsByAgent = "followups-by-agent"
    static let deferrals = "deferrals"
    static let contracts = "contracts"
    static let agents = "agents"
    static let branches = "branches"
    static let products = "products"
    static let targets = "targets"
    static let pipelines = "pipelines"
    /// customerId → the last call, meeting, email or SMS; small and apart, because every interaction updates it.
    static let lastContacts = "last-contacts"

    public static let tables = [customers, customersByAgent, customersByTag, sales, invoiceKeys, quotes, quotesByExpiry, interactions,
                                payments, deals, followups, followupsByAgent, deferrals, contracts, agents, branches, products, targets,
                                pipelines, lastContacts, SearchIndex.forward, SearchIndex.reverse]

    let keys: KeyStore
    let search: SearchIndex

    /// Folds with customers' keys from `keys` and a search key kept there too.
    public init(keys: KeyStore) throws {
        self.keys = keys
        search = try SearchIndex.open(keys: keys)
    }

    private func key(_ customerId: String) throws -> DataKey? {
        let owner = DataKey.owner(ofCustomer: customerId)
        return try keys.key(for: owner).map { DataKey(owner: owner, bytes: $0) }
    }

    private static func micros(_ rfc3339: String?) -> Int64? { rfc3339.flatMap(Timestamp.init(rfc3339:))?.microsecondsSince1970 }

    private static func money(_ money: Money?) -> JSON {
        money.map { .object(["amount": .int($0.amount), "currency": .string($0.currency)]) } ?? .null
    }

    /// Search tokens of one event, made ahead by `prepare`: each field's tokens, in the order
    /// they are indexed.
    struct SearchTokens: Sendable {
        let entries: [(field: SearchIndex.Field, tokens: [[UInt8]])]
    }

    /// Opens the event's sealed values and hashes their search tokens: the costliest part of
    /// folding a note, and independent of the tables, so the projector does it ahead.
    public func prepare(_ projected: ProjectedEvent) -> (any Sendable)? {
        try? searchTokens(projected)
    }

    /// The search tokens an event adds or replaces; nil for events that index nothing.
    private func searchTokens(_ projected: ProjectedEvent) throws -> SearchTokens? {
        switch projected.event {
        case .customerRegistered(let e)?:
            let key = try key(e.customerId)
            let name = key?.open(e.name)
            let phones = e.phones.compactMap { key?.open($0) }
            let emails = e.emails.compactMap { key?.open($0) }
            return SearchTokens(entries: [(.name, search.tokens(.name, name.map { [$0] } ?? [])),
                                          (.phones, search.tokens(.phones, phones)), (.emails, search.tokens(.emails, emails))])
        case .customerFieldEdited(let e)?:
            guard ["name", "phones", "emails"].contains(e.field), let field = SearchIndex.Field(rawValue: e.field) else { return nil }
            let key = try key(e.customerId)
            let personal = CustomerFieldEdited.fields[e.field] == true
            let plain: JSON? = personal ? e.new.flatMap { $0.stringValue }.flatMap { key?.open(Sealed(text: $0)) }.flatMap { try? JSON.parse($0) } : e.new
            let texts: [String] = plain.map { $0.arrayValue?.compactMap(\.stringValue) ?? [$0.stringValue].compactMap { $0 } } ?? []
            return SearchTokens(entries: [(field, search.tokens(field, texts))])
        case .interaction(_, let e)?:
            let key = try key(e.customerId)
            let texts = [e.subject, e.text].compactMap { $0.flatMap { key?.open($0) } }
            return texts.isEmpty ? nil : SearchTokens(entries: [(.text, search.tokens(.text, texts))])
        default:
            return nil
        }
    }

    /// Stores the event's search tokens: those `prepare` made, or made now.
    private func indexSearch(_ customerId: String, _ prepared: (any Sendable)?, _ projected: ProjectedEvent, _ txn: KeyValueTransaction) throws {
        guard let tokens = try (prepared as? SearchTokens) ?? searchTokens(projected) else { return }
        for entry in tokens.entries { try search.index(customerId, entry.field, tokens: entry.tokens, txn) }
    }

    public func apply(_ projected: ProjectedEvent, in txn: KeyValueTransaction) throws {
        try apply(projected, prepared: nil, in: txn)
    }

    public func apply(_ projected: ProjectedEvent, prepared: (any Sendable)?, in txn: KeyValueTransaction) throws {
        guard let event = projected.event else { return }
        let recorded = projected.recorded
        let at = recorded.recordedAt.microsecondsSince1970
        let when = JSON.string(recorded.recordedAt.rfc3339)
        switch event {
        case .customerRegistered(let e):
            let row: JSONObject = [
                "customerId": .string(e.customerId), "agentId": .string(e.agentId), "branchId": e.branchId.map(JSON.string) ?? .null,
                "kind": .string(e.kind), "tags": .array(e.tags.map(JSON.string)), "channel": e.source.map { .string($0.channel) } ?? .null,
                "campaign": e.source?.campaign.map(JSON.string) ?? .null, "registeredAt": when, "registeredMicros": .int(at),
                "name": PersonalValue.text(e.name), "phones": PersonalValue.texts(e.phones), "emails": PersonalValue.texts(e.emails),
                "birthday": e.birthday.map(PersonalValue.text) ?? .null, "forgotten": false,
            ]
            try txn.put(Self.customers, Key.of(.text(e.customerId)), row: row)
            try txn.put(Self.customersByAgent, Key.of(.text(e.agentId), .text(e.customerId)), [])
            for tag in e.tags { try txn.put(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)), []) }
            try indexSearch(e.customerId, prepared, projected, txn)
        case .customerFieldEdited(let e):
            let customerKey = Key.of(.text(e.customerId))
            guard var row = try txn.row(Self.customers, customerKey) else { return }
            switch e.field {
            case "name", "phones", "emails", "birthday", "address":
                if e.field != "address" { row[e.field] = e.new.flatMap(\.stringValue).map { PersonalValue.json(Sealed(text: $0)) } ?? .null }
                try indexSearch(e.customerId, prepared, projected, txn)
            case "tags":
                for tag in row["tags"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    try txn.delete(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)))
                }
                let tags = e.new?.arrayValue?.compactMap(\.stringValue) ?? []
                for tag in tags { try txn.put(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)), []) }
                row["tags"] = .array(tags.map(JSON.string))
            case "source":
                row["channel"] = e.new?["channel"] ?? .null
                row["campaign"] = e.new?["campaign"] ?? .null
            default:
                row[e.field] = e.new ?? .null
            }
            try txn.put(Self.customers, customerKey, row: row)
        case .customerAssigned(let e):
            try txn.delete(Self.customersByAgent, Key.of(.text(e.from), .text(e.customerId)))
            try txn.put(Self.customersByAgent, Key.of(.text(e.to), .text(e.customerId)), [])
            try txn.update(Self.customers, Key.of(.text(e.customerId))) { $0["agentId"] = .string(e.to) }
        case .customerForgotten(let e):
            try txn.update(Self.customers, Key.of(.text(e.customerId))) { row in
                row["forgotten"] = true
                for field in ["name", "phones", "emails", "birthday"] { row[field] = .null }
            }
            try search.forget(e.customerId, txn)
        case .contactAdded, .contactRemoved, .competitorNoted:
            break
        case .supportContractRecorded(let e):
            try txn.put(Self.contracts, Key.of(.time(Self.micros(e.expiresOn + "T00:00:00Z") ?? 0), .text(e.contractId)), row: [
                "contractId": .string(e.contractId), "customerId": .string(e.customerId), "productId": e.productId.map(JSON.string) ?? .null,
                "expiresOn": .string(e.expiresOn),
            ])
        case .interaction(let kind, let e):
            let business = Self.micros(e.at) ?? at
            try txn.put(Self.interactions, Key.of(.time(business), .number(UInt64(recorded.position))), row: [
                "customerId": .string(e.customerId), "agentId": .string(e.agentId), "kind": .string(kind.rawValue), "at": .string(e.at),
                "outcome": e.outcome.map(JSON.string) ?? .null, "direction": e.direction.map(JSON.string) ?? .null,
            ])
            if kind != .note {
                let key = Key.of(.text(e.customerId))
                let previous = try txn.get(Self.lastContacts, key).map { KeyPart.time(in: $0, at: 0) }
                if previous.map({ $0 <= business }) ?? true {
                    let row: JSON = .object(["at": .string(e.at), "kind": .string(kind.rawValue), "agentId": .string(e.agentId),
                                             "outcome": e.outcome.map(JSON.string) ?? .null])
                    try txn.put(Self.lastContacts, key, KeyPart.time(business).bytes + row.bytes())
                }
            }
            try indexSearch(e.customerId, prepared, projected, txn)
        case .quoteGiven(let e):
            let quoteKey = Key.of(.time(at), .text(e.quoteId))
            try txn.put(Self.quotes, quoteKey, row: [
                "quoteId": .string(e.quoteId), "customerId": .string(e.customerId), "agentId": .string(e.agentId), "givenAt": when,
                "total": .int(e.total), "currency": .string(e.currency), "validUntil": e.validUntil.map(JSON.string) ?? .null,
                "channel": .string(e.channel),
            ])
            if let valid = Self.micros(e.validUntil) { try txn.put(Self.quotesByExpiry, Key.of(.time(valid), .text(e.quoteId)), quoteKey) }
        case .proformaIssued:
            break
        case .invoiceIssued(let e):
            let d = e.document
            let customer = try txn.row(Self.customers, Key.of(.text(d.customerId)))
            let saleKey = Key.of(.time(at), .text(d.documentId))
            try txn.put(Self.sales, saleKey, row: [
                "invoiceId": .string(d.documentId), "customerId": .string(d.customerId), "agentId": .string(d.agentId),
                "branchId": customer?["branchId"] ?? .null, "channel": customer?["channel"] ?? .null, "campaign": customer?["campaign"] ?? .null,
                "issuedAt": when, "currency": .string(d.currency), "total": .int(d.total), "paid": 0, "void": false,
                "dueAt": d.dueAt.map(JSON.string) ?? .null, "dueMicros": Self.micros(d.dueAt).map(JSON.int) ?? .null,
                "lines": .array(d.lines.map { .object(["productId": .string($0.productId), "quantity": .int($0.quantity),
                                                       "amount": .int($0.quantity * $0.unitPrice.amount)]) }),
            ])
            try txn.put(Self.invoiceKeys, Key.of(.text(d.documentId)), saleKey)
        case .invoiceVoided(let e):
            if let saleKey = try txn.get(Self.invoiceKeys, Key.of(.text(e.invoiceId))) {
                try txn.update(Self.sales, saleKey) { $0["void"] = true }
            }
        case .paymentRecorded(let e):
            var agentId = JSON.null
            if let saleKey = try txn.get(Self.invoiceKeys, Key.of(.text(e.invoiceId))) {
                try txn.update(Self.sales, saleKey) { row in
                    row["paid"] = .int(row.int("paid") + e.amount.amount)
                    agentId = row["agentId"] ?? .null
                }
            }
            try txn.put(Self.payments, Key.of(.time(Self.micros(e.at) ?? at), .text(e.paymentId)), row: [
                "invoiceId": .string(e.invoiceId), "customerId": .string(e.customerId), "agentId": agentId,
                "amount": .int(e.amount.amount), "currency": .string(e.amount.currency), "at": .string(e.at),
            ])
        case .dealOpened(let e):
            let customer = try txn.row(Self.customers, Key.of(.text(e.customerId)))
            try txn.put(Self.deals, Key.of(.text(e.dealId)), row: [
                "dealId": .string(e.dealId), "customerId": .string(e.customerId), "agentId": .string(e.agentId),
                "branchId": customer?["branchId"] ?? .null, "channel": customer?["channel"] ?? .null, "campaign": customer?["campaign"] ?? .null,
                "pipelineId": .string(e.pipelineId), "stage": .string(e.stage), "outcome": "open", "openedMicros": .int(at),
                "value": Self.money(e.value), "history": .array([.object(["stage": .string(e.stage), "at": .int(at)])]),
            ])
        case .dealMoved(let e):
            try moveDeal(e.dealId, to: e.to, at: at, txn)
        case .dealWon(let e):
            try moveDeal(e.dealId, to: "won", at: at, txn) { row in
                row["outcome"] = "won"
                row["closedMicros"] = .int(at)
                if let value = e.value { row["value"] = Self.money(value) }
            }
        case .dealLost(let e):
            try moveDeal(e.dealId, to: "lost", at: at, txn) { row in
                row["outcome"] = "lost"
                row["closedMicros"] = .int(at)
                row["lostReason"] = .string(e.reason)
                row["lostFrom"] = .string(e.from)
            }
        case .followupScheduled(let e):
            let due = Self.micros(e.due) ?? at
            try txn.put(Self.followups, Key.of(.text(e.followupId)), row: [
                "followupId": .string(e.followupId), "customerId": .string(e.customerId), "agentId": .string(e.agentId),
                "due": .string(e.due), "dueMicros": .int(due), "kind": .string(e.kind), "status": "scheduled", "deferrals": 0,
                "scheduledAt": when,
            ])
            try txn.put(Self.followupsByAgent, Key.of(.text(e.agentId), .time(due), .text(e.followupId)), [])
        case .followupDeferred(let e):
            try txn.update(Self.followups, Key.of(.text(e.followupId))) { row in
                let agent = row.string("agentId") ?? ""
                try txn.delete(Self.followupsByAgent, Key.of(.text(agent), .time(row.int("dueMicros")), .text(e.followupId)))
                let due = Self.micros(e.to) ?? at
                row["due"] = .string(e.to)
                row["dueMicros"] = .int(due)
                row["deferrals"] = .int(row.int("deferrals") + 1)
                try txn.put(Self.followupsByAgent, Key.of(.text(agent), .time(due), .text(e.followupId)), [])
                try txn.put(Self.deferrals, Key.of(.time(at), .text(e.followupId)), row: [
                    "followupId": .string(e.followupId), "customerId": .string(e.customerId), "agentId": .string(agent),
                    "kind": row["kind"] ?? .null, "from": .string(e.from), "to": .string(e.to),
                ])
            }
        case .followupCompleted(let e):
            try closeFollowup(e.followupId, status: "completed", txn)
        case .followupCancelled(let e):
            try closeFollowup(e.followupId, status: "cancelled", txn)
        case .pipelineDefined(let e):
            try txn.put(Self.pipelines, Key.of(.text(e.pipelineId)), row: ["pipelineId": .string(e.pipelineId), "stages": .array(e.stages.map(JSON.string))])
        case .productDefined(let e):
            try txn.put(Self.products, Key.of(.text(e.productId)), row: [
                "productId": .string(e.productId), "name": .string(e.name), "unitPrice": Self.money(e.unitPrice), "retired": false,
            ])
        case .productRepriced(let e):
            try txn.update(Self.products, Key.of(.text(e.productId))) { $0["unitPrice"] = Self.money(e.to) }
        case .productRetired(let e):
            try txn.update(Self.products, Key.of(.text(e.productId))) { $0["retired"] = true }
        case .agentHired(let e):
            try txn.put(Self.agents, Key.of(.text(e.agentId)), row: [
                "agentId": .string(e.agentId), "name": .string(e.name), "role": .string(e.role),
                "branchId": e.branchId.map(JSON.string) ?? .null, "left": false,
            ])
        case .agentLeft(let e):
            try txn.update(Self.agents, Key.of(.text(e.agentId))) {
                $0["left"] = true
                $0["successorId"] = .string(e.successorId)
            }
        case .branchOpened(let e):
            try txn.put(Self.branches, Key.of(.text(e.branchId)), row: [
                "branchId": .string(e.branchId), "name": .string(e.name), "region": .string(e.region), "kind": .string(e.kind),
            ])
        case .targetSet(let e):
            try txn.put(Self.targets, Key.of(.text(e.targetId)), row: [
                "targetId": .string(e.targetId), "period": .string(e.period), "calendar": .string(e.calendar), "scope": .string(e.scope),
                "scopeId": e.scopeId.map(JSON.string) ?? .null, "amount": Self.money(e.amount), "setAt": when,
            ])
        }
    }

    /// The last contact of a customer: when (business time) and what, or nil.
    static func lastContact(_ customerId: String, _ txn: KeyValueTransaction) throws -> (at: Int64, row: JSON)? {
        guard let bytes = try txn.get(lastContacts, Key.of(.text(customerId))), bytes.count > 8 else { return nil }
        return (KeyPart.time(in: bytes, at: 0), try JSON.parse(Array(bytes[8...])))
    }

    private func moveDeal(_ dealId: String, to stage: String, at: Int64, _ txn: KeyValueTransaction,
                          _ more: (inout JSONObject) -> Void = { _ in }) throws {
        try txn.update(Self.deals, Key.of(.text(dealId))) { row in
            row["stage"] = .string(stage)
            row["history"] = .array((row["history"]?.arrayValue ?? []) + [.object(["stage": .string(stage), "at": .int(at)])])
            more(&row)
        }
    }

    private func closeFollowup(_ followupId: String, status: String, _ txn: KeyValueTransaction) throws {
        try txn.update(Self.followups, Key.of(.text(followupId))) { row in
            row["status"] = .string(status)
            try txn.delete(Self.followupsByAgent, Key.of(.text(row.string("agentId") ?? ""), .time(row.int("dueMicros")), .text(followupId)))
        }
    }
}
