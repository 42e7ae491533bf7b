import EventStore
import Foundation
import JSONKit

/// A CRM event with its business time: what happened, and when it happened as the person who
/// recorded it said (not when the log recorded it; see docs/design.md, "Two timelines").
public struct Fact: Equatable, Sendable {
    /// What happened.
    public var event: CRMEvent
    /// When it happened (business time).
    public var at: Timestamp

    /// Pairs an event with its business time.
    public init(_ event: CRMEvent, at: Timestamp) {
        self.event = event
        self.at = at
    }
}

/// Every CRM fact, decoded and upcast to the current schema: what folds and projections switch over.
public enum CRMEvent: Equatable, Sendable {
    case customerRegistered(CustomerRegistered)
    case customerFieldEdited(CustomerFieldEdited)
    case customerAssigned(CustomerAssigned)
    case contactAdded(ContactAdded)
    case contactRemoved(ContactRemoved)
    case competitorNoted(CompetitorNoted)
    case customerForgotten(CustomerForgotten)
    case supportContractRecorded(SupportContractRecorded)
    case interaction(InteractionKind, Interaction)
    case quoteGiven(QuoteGiven)
    case proformaIssued(ProformaIssued)
    case invoiceIssued(InvoiceIssued)
    case invoiceVoided(InvoiceVoided)
    case paymentRecorded(PaymentRecorded)
    case pipelineDefined(PipelineDefined)
    case dealOpened(DealOpened)
    case dealMoved(DealMoved)
    case dealWon(DealWon)
    case dealLost(DealLost)
    case followupScheduled(FollowupScheduled)
    case followupCompleted(FollowupCompleted)
    case followupDeferred(FollowupDeferred)
    case followupCancelled(FollowupCancelled)
    case productDefined(ProductDefined)
    case productRepriced(ProductRepriced)
    case productRetired(ProductRetired)
    case agentHired(AgentHired)
    case agentLeft(AgentLeft)
    case branchOpened(BranchOpened)
    case targetSet(TargetSet)

    /// The stored event type name.
    public var eventType: String {
        switch self {
        case .interaction(let kind, _): kind.eventType
        default: payload.map { type(of: $0).eventType } ?? ""
        }
    }

    /// The id of what the event records inside another entity's stream (an interaction on the
    /// customer's activity stream, a payment on its invoice, a support contract on its customer),
    /// or nil when the event is about its stream's own entity.
    public var recordedEntityID: String? {
        switch self {
        case .interaction(_, let interaction): interaction.interactionId
        case .paymentRecorded(let payment): payment.paymentId
        case .supportContractRecorded(let contract): contract.contractId
        default: nil
        }
    }

    /// The payload for every case but interactions (whose type depends on their kind).
    var payload: (any EventPayload)? {
        switch self {
        case .customerRegistered(let e): e
        case .customerFieldEdited(let e): e
        case .customerAssigned(let e): e
        case .contactAdded(let e): e
        case .contactRemoved(let e): e
        case .competitorNoted(let e): e
        case .customerForgotten(let e): e
        case .supportContractRecorded(let e): e
        case .interaction: nil
        case .quoteGiven(let e): e
        case .proformaIssued(let e): e
        case .invoiceIssued(let e): e
        case .invoiceVoided(let e): e
        case .paymentRecorded(let e): e
        case .pipelineDefined(let e): e
        case .dealOpened(let e): e
        case .dealMoved(let e): e
        case .dealWon(let e): e
        case .dealLost(let e): e
        case .followupScheduled(let e): e
        case .followupCompleted(let e): e
        case .followupDeferred(let e): e
        case .followupCancelled(let e): e
        case .productDefined(let e): e
        case .productRepriced(let e): e
        case .productRetired(let e): e
        case .agentHired(let e): e
        case .agentLeft(let e): e
        case .branchOpened(let e): e
        case .targetSet(let e): e
        }
    }

    /// Whether the payload dates itself with its own `at` field (interactions and payments).
    var datesItself: Bool {
        switch self {
        case .interaction, .paymentRecorded: true
        default: false
        }
    }

    /// The event ready to append, dated `at`: type, current schema version and canonical JSON
    /// payload. A payload that dates itself already says `at`; the others get it beside their fields.
    public func proposed(at: Timestamp) -> ProposedEvent {
        // Plain structs of strings and integers always encode. Keys are sorted, so a payload's
        // bytes depend only on its values.
        var json: JSON
        let version: UInt32
        switch self {
        case .interaction(_, let interaction):
            json = try! JSON.encode(interaction)
            version = 1
        default:
            let payload = payload!
            json = try! JSON.encode(payload)
            version = type(of: payload).schemaVersion
        }
        if !datesItself, case .object(var members) = json {
            members["at"] = .string(at.rfc3339)
            json = .object(members)
        }
        return ProposedEvent(type: eventType, schema: version, data: json.bytes(sortedKeys: true))
    }

    /// The customer whose data key seals this event's personal data, if it concerns one.
    public var customerId: String? {
        switch self {
        case .customerRegistered(let e): e.customerId
        case .customerFieldEdited(let e): e.customerId
        case .customerAssigned(let e): e.customerId
        case .contactAdded(let e): e.customerId
        case .contactRemoved(let e): e.customerId
        case .competitorNoted(let e): e.customerId
        case .customerForgotten(let e): e.customerId
        case .supportContractRecorded(let e): e.customerId
        case .interaction(_, let e): e.customerId
        case .quoteGiven(let e): e.customerId
        case .proformaIssued(let e): e.document.customerId
        case .invoiceIssued(let e): e.document.customerId
        case .invoiceVoided(let e): e.customerId
        case .paymentRecorded(let e): e.customerId
        case .dealOpened(let e): e.customerId
        case .dealMoved(let e): e.customerId
        case .dealWon(let e): e.customerId
        case .dealLost(let e): e.customerId
        case .followupScheduled(let e): e.customerId
        case .followupCompleted(let e): e.customerId
        case .followupDeferred(let e): e.customerId
        case .followupCancelled(let e): e.customerId
        case .pipelineDefined, .productDefined, .productRepriced, .productRetired, .agentHired, .agentLeft,
            .branchOpened, .targetSet:
            nil
        }
    }
}

extension JSON: Codable {
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let b = try? container.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? container.decode(Int64.self) {
            self = .int(i)
        } else if let d = try? container.decode(Double.self) {
            self = .double(d)
        } else if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if let a = try? container.decode([JSON].self) {
            self = .array(a)
        } else {
            // JSONDecoder does not keep member order; sorted keys make the result deterministic.
            let dictionary = try container.decode([String: JSON].self)
            var object = JSONObject()
            for key in dictionary.keys.sorted() { object[key] = dictionary[key] }
            self = .object(object)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let b): try container.encode(b)
        case .int(let i): try container.encode(i)
        case .double(let d): try container.encode(d)
        case .string(let s): try container.encode(s)
        case .array(let a): try container.encode(a)
        case .object(let o):
            var dictionary: [String: JSON] = [:]
            for member in o.members { dictionary[member.key] = member.value }
            try container.encode(dictionary)
        }
    }
}
