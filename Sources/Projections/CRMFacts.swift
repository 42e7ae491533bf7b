import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue

/// The CRM's read models for search, agendas and reports: customers, documents, interactions,
/// deals, follow-ups and the company, kept as JSON rows and time-ordered fact tables.
///
/// Reports aggregate over fact tables at query time (a range scan by time), so a report nobody
/// planned needs no new projection, and every figure comes from rows a person can trace to
/// events. Personal values are kept sealed with the customer's key and opened only when a
/// query shows them, so forgetting a customer erases
/// them here without rewriting anything; their search tokens are deleted. (Personal values are
/// the events' own ciphertext, see `SealedValue`.) Each table's rows are one type (ReadModelRows.swift);
/// each family of events is folded by a function of its own (CRMFacts+Folds.swift).
public struct CRMFacts: Projection {
    public static let name = "crm-facts"
    /// 4: rows are typed; absent values are left out of the stored JSON. 5: dated by business time.
    public static let version = 5

    static let customers = Table<CustomerRow>("customers")
    static let sales = Table<SaleRow>("sales")
    static let quotes = Table<QuoteRow>("quotes")
    static let interactions = Table<InteractionRow>("interactions")
    static let payments = Table<PaymentRow>("payments")
    static let deals = Table<DealRow>("deals")
    static let followups = Table<FollowupRow>("followups")
    static let deferrals = Table<DeferralRow>("deferrals")
    static let contracts = Table<ContractRow>("contracts")
    static let agents = Table<AgentRow>("agents")
    static let branches = Table<BranchRow>("branches")
    static let products = Table<ProductRow>("products")
    static let targets = Table<TargetRow>("targets")
    static let pipelines = Table<PipelineRow>("pipelines")

    // Indexes: keys only, or a key pointing at a row of another table.
    /// agentId, customerId → nothing.
    static let customersByAgent = "customers-by-agent"
    /// normalised tag, customerId → nothing.
    static let customersByTag = "customers-by-tag"
    /// invoiceId → its key in `sales`.
    static let invoiceKeys = "invoice-keys"
    /// validUntil, quoteId → its key in `quotes`.
    static let quotesByExpiry = "quotes-by-expiry"
    /// agentId, due, followupId → nothing.
    static let followupsByAgent = "followups-by-agent"
    /// customerId → the business time and the LastContactRow of the last call, meeting, email or SMS;
    /// small and apart, because every interaction updates it.
    static let lastContacts = "last-contacts"

    public static let tables = [
        customers.name, customersByAgent, customersByTag, sales.name, invoiceKeys, quotes.name,
        quotesByExpiry, interactions.name, payments.name, deals.name, followups.name, followupsByAgent,
        deferrals.name, contracts.name, agents.name, branches.name, products.name, targets.name,
        pipelines.name, lastContacts, SearchIndex.forward, SearchIndex.reverse,
    ]

    let keys: KeyStore
    let search: SearchIndex

    /// Folds with customers' keys from `keys` and a search key kept there too.
    public init(keys: KeyStore) throws {
        self.keys = keys
        search = try SearchIndex.open(keys: keys)
    }

    func key(_ customerId: String) throws -> DataKey? {
        let owner = DataKey.owner(ofCustomer: customerId)
        return try keys.key(for: owner).map { DataKey(owner: owner, bytes: $0) }
    }

    static func micros(_ rfc3339: String?) -> Int64? {
        rfc3339.flatMap(Timestamp.init(rfc3339:))?.microsecondsSince1970
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
            return SearchTokens(entries: [
                (.name, search.tokens(.name, name.map { [$0] } ?? [])),
                (.phones, search.tokens(.phones, phones)), (.emails, search.tokens(.emails, emails)),
            ])
        case .customerFieldEdited(let e)?:
            guard ["name", "phones", "emails"].contains(e.field), let field = SearchIndex.Field(rawValue: e.field)
            else { return nil }
            let key = try key(e.customerId)
            let personal = CustomerFieldEdited.fields[e.field] == true
            let plain: JSON? =
                personal
                ? e.new.flatMap { $0.stringValue }.flatMap { key?.open(Sealed(text: $0)) }.flatMap {
                    try? JSON.parse($0)
                } : e.new
            let texts: [String] =
                plain.map { $0.arrayValue?.compactMap(\.stringValue) ?? [$0.stringValue].compactMap { $0 } } ?? []
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
    func indexSearch(_ customerId: String, _ fold: Fold) throws {
        guard let tokens = try (fold.prepared as? SearchTokens) ?? searchTokens(fold.projected) else { return }
        for entry in tokens.entries { try search.index(customerId, entry.field, tokens: entry.tokens, fold.txn) }
    }

    public func apply(_ projected: ProjectedEvent, in txn: KeyValueTransaction) throws {
        try apply(projected, prepared: nil, in: txn)
    }

    public func apply(_ projected: ProjectedEvent, prepared: (any Sendable)?, in txn: KeyValueTransaction) throws {
        guard let event = projected.event else { return }
        let fold = Fold(projected: projected, prepared: prepared, txn: txn)
        switch event {
        case .customerRegistered, .customerFieldEdited, .customerAssigned, .customerForgotten, .supportContractRecorded:
            try foldCustomer(event, fold)
        case .contactAdded, .contactRemoved, .competitorNoted, .proformaIssued:
            break
        case .interaction(let kind, let interaction):
            try foldInteraction(kind, interaction, fold)
        case .quoteGiven, .invoiceIssued, .invoiceVoided, .paymentRecorded:
            try foldDocument(event, fold)
        case .pipelineDefined, .dealOpened, .dealMoved, .dealWon, .dealLost:
            try foldDeal(event, fold)
        case .followupScheduled, .followupDeferred, .followupCompleted, .followupCancelled:
            try foldFollowup(event, fold)
        case .productDefined, .productRepriced, .productRetired, .agentHired, .agentLeft, .branchOpened, .targetSet:
            try foldCompany(event, fold)
        }
    }

    /// The last contact of a customer: when (business time) and what, or nil.
    static func lastContact(
        _ customerId: String, _ txn: KeyValueTransaction
    ) throws -> (at: Int64, row: LastContactRow)? {
        guard let bytes = try txn.get(lastContacts, Key.of(.text(customerId))), bytes.count > 8 else { return nil }
        return (KeyPart.time(in: bytes, at: 0), try JSON.parse(Array(bytes[8...])).decode(LastContactRow.self))
    }
}

/// One event being folded into crm-facts: the event, the search tokens made ahead for it, the
/// transaction, and when it happened (business time, what reports, the funnel and the agenda
/// go by).
struct Fold {
    let projected: ProjectedEvent
    let prepared: (any Sendable)?
    let txn: KeyValueTransaction
    /// The business time, in microseconds.
    let at: Int64
    /// The business time, RFC 3339.
    let when: String

    init(projected: ProjectedEvent, prepared: (any Sendable)?, txn: KeyValueTransaction) {
        self.projected = projected
        self.prepared = prepared
        self.txn = txn
        at = projected.at.microsecondsSince1970
        when = projected.at.rfc3339
    }
}
