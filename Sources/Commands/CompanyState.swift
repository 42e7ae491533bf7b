import CRMEvents
import EventStore
import JSONKit

/// What the write side must know to check business rules: a fold of the whole log, without
/// personal data, with every stream's version.
///
/// Decisions read this state as of the head and append with the versions it records, so a
/// decision made on stale state always ends in `wrongExpectedVersion` and is retried on fresh
/// state. That makes the fold, not each stream separately, the unit of reading; each stream
/// stays the unit of consistency (see docs/design.md, "Aggregates").
struct CompanyState: Sendable, Equatable {
    struct Customer: Sendable, Equatable {
        var agentId: String
        var forgotten = false
        var contacts: Set<String> = []
        var contracts: Set<String> = []
    }
    struct Agent: Sendable, Equatable {
        var role: String
        var hiredAt: Timestamp
        var left = false
        /// When they left (business time).
        var leftAt: Timestamp?
    }
    struct Product: Sendable, Equatable {
        /// Its list prices by business time, oldest first: a back-dated quote is priced as the
        /// catalogue stood on its date.
        var prices: [(at: Timestamp, price: Money)]
        var retired = false

        /// When it entered the catalogue (business time).
        var definedAt: Timestamp { prices[0].at }
        /// The list price now.
        var price: Money { prices[prices.count - 1].price }

        /// The list price on `time`; before it entered the catalogue, its first price.
        func price(at time: Timestamp) -> Money {
            prices.last { $0.at <= time }?.price ?? prices[0].price
        }

        mutating func reprice(_ price: Money, at time: Timestamp) {
            let index = prices.lastIndex { $0.at <= time }.map { $0 + 1 } ?? 0
            prices.insert((time, price), at: index)
        }

        static func == (lhs: Product, rhs: Product) -> Bool {
            lhs.retired == rhs.retired && lhs.prices.elementsEqual(rhs.prices) { $0.at == $1.at && $0.price == $1.price }
        }
    }
    struct Quote: Sendable, Equatable {
        var customerId: String
        var currency: String
        var givenAt: Timestamp
    }
    struct Invoice: Sendable, Equatable {
        var customerId: String
        var currency: String
        var issuedAt: Timestamp
        var total: Int64
        var paid: Int64 = 0
        var voided = false
        var payments: Set<String> = []
        var open: Int64 { total - paid }
    }
    enum DealOutcome: Sendable { case open, won, lost }
    struct Deal: Sendable, Equatable {
        var customerId: String
        var pipelineId: String
        var stage: String
        var openedAt: Timestamp
        /// When it last changed stage (business time); its opening until it moves.
        var movedAt: Timestamp
        var outcome = DealOutcome.open
    }
    enum FollowupStatus: String, Sendable { case scheduled, completed, cancelled }
    struct Followup: Sendable, Equatable {
        var customerId: String
        var agentId: String
        var due: String
        var scheduledAt: Timestamp
        var status = FollowupStatus.scheduled
    }

    /// The last position folded in.
    var position: Position = 0
    var versions: [StreamName: StreamVersion] = [:]
    var customers: [String: Customer] = [:]
    var customersByAgent: [String: Set<String>] = [:]
    var agents: [String: Agent] = [:]
    var products: [String: Product] = [:]
    var branches: Set<String> = []
    var pipelines: [String: [String]] = [:]
    var quotes: [String: Quote] = [:]
    var proformas: [String: Quote] = [:]
    var invoices: [String: Invoice] = [:]
    var deals: [String: Deal] = [:]
    var followups: [String: Followup] = [:]
    var targets: Set<String> = []
    var interactions: Set<String> = []

    /// A stream's version as of `position` (0 when it has no events).
    func version(_ stream: StreamName) -> StreamVersion { versions[stream] ?? 0 }

    /// The stages of a pipeline; `default` has the standard stages until it is defined.
    func stages(of pipelineId: String) -> [String]? {
        pipelines[pipelineId] ?? (pipelineId == "default" ? defaultPipelineStages : nil)
    }

    /// Folds an event this process decided and appended, already typed, at its recorded place.
    mutating func apply(_ fact: Fact, recorded: RecordedEvent) {
        apply(fact)
        position = recorded.position
        versions[recorded.stream] = recorded.version
    }

    /// Folds one recorded event in. Events that are not CRM events only bump versions.
    ///
    /// An event of a known type that cannot be decoded (a version written by newer code) throws
    /// and leaves the state where it was: deciding on a state that skipped a fact would be wrong.
    mutating func apply(_ recorded: RecordedEvent) throws(EventDecodingError) {
        if EventCatalogue.isKnown(type: recorded.type) { apply(try EventCatalogue.fact(recorded)) }
        position = recorded.position
        versions[recorded.stream] = recorded.version
    }

    private mutating func assign(_ customerId: String, to agentId: String) {
        if let previous = customers[customerId]?.agentId { customersByAgent[previous]?.remove(customerId) }
        customers[customerId]?.agentId = agentId
        customersByAgent[agentId, default: []].insert(customerId)
    }

    /// Folds one fact, dated by its business time.
    mutating func apply(_ fact: Fact) {
        let at = fact.at
        switch fact.event {
        case .customerRegistered(let e):
            customers[e.customerId] = Customer(agentId: e.agentId)
            customersByAgent[e.agentId, default: []].insert(e.customerId)
        case .customerAssigned(let e):
            assign(e.customerId, to: e.to)
        case .contactAdded(let e):
            customers[e.customerId]?.contacts.insert(e.contactId)
        case .contactRemoved(let e):
            customers[e.customerId]?.contacts.remove(e.contactId)
        case .customerForgotten(let e):
            customers[e.customerId]?.forgotten = true
        case .supportContractRecorded(let e):
            customers[e.customerId]?.contracts.insert(e.contractId)
        case .interaction(_, let e):
            interactions.insert(e.interactionId)
        case .customerFieldEdited, .competitorNoted:
            break
        case .quoteGiven(let e):
            quotes[e.quoteId] = Quote(customerId: e.customerId, currency: e.currency, givenAt: at)
        case .proformaIssued(let e):
            let d = e.document
            proformas[d.documentId] = Quote(customerId: d.customerId, currency: d.currency, givenAt: at)
        case .invoiceIssued(let e):
            let d = e.document
            invoices[d.documentId] = Invoice(customerId: d.customerId, currency: d.currency, issuedAt: at, total: d.total)
        case .invoiceVoided(let e):
            invoices[e.invoiceId]?.voided = true
        case .paymentRecorded(let e):
            invoices[e.invoiceId]?.paid += e.amount.amount
            invoices[e.invoiceId]?.payments.insert(e.paymentId)
        case .pipelineDefined(let e):
            pipelines[e.pipelineId] = e.stages
        case .dealOpened(let e):
            deals[e.dealId] = Deal(
                customerId: e.customerId, pipelineId: e.pipelineId, stage: e.stage, openedAt: at, movedAt: at)
        case .dealMoved(let e):
            deals[e.dealId]?.stage = e.to
            deals[e.dealId]?.movedAt = at
        case .dealWon(let e):
            deals[e.dealId]?.stage = "won"
            deals[e.dealId]?.outcome = .won
            deals[e.dealId]?.movedAt = at
        case .dealLost(let e):
            deals[e.dealId]?.stage = "lost"
            deals[e.dealId]?.outcome = .lost
            deals[e.dealId]?.movedAt = at
        case .followupScheduled(let e):
            followups[e.followupId] = Followup(
                customerId: e.customerId, agentId: e.agentId, due: e.due, scheduledAt: at)
        case .followupCompleted(let e):
            followups[e.followupId]?.status = .completed
        case .followupDeferred(let e):
            followups[e.followupId]?.due = e.to
        case .followupCancelled(let e):
            followups[e.followupId]?.status = .cancelled
        case .productDefined(let e):
            products[e.productId] = Product(prices: [(at, e.unitPrice)])
        case .productRepriced(let e):
            products[e.productId]?.reprice(e.to, at: at)
        case .productRetired(let e):
            products[e.productId]?.retired = true
        case .agentHired(let e):
            agents[e.agentId] = Agent(role: e.role, hiredAt: at)
        case .agentLeft(let e):
            agents[e.agentId]?.left = true
            agents[e.agentId]?.leftAt = at
        case .branchOpened(let e):
            branches.insert(e.branchId)
        case .targetSet(let e):
            targets.insert(e.targetId)
        }
    }
}
