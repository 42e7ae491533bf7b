import EventStore
import Foundation
import JSONKit

/// Why a stored event could not be read as a CRM event.
public enum EventDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The type is not one crmd writes.
    case unknownType(String)
    /// The type is known but not at this schema version (written by newer code).
    case unknownVersion(type: String, schema: UInt32)
    /// The payload does not match its schema.
    case malformed(type: String, schema: UInt32, reason: String)

    public var description: String {
        switch self {
        case .unknownType(let type): "unknown event type \(type)"
        case .unknownVersion(let type, let schema): "\(type) has no schema v\(schema) in this version of crmd"
        case .malformed(let type, let schema, let reason): "\(type) v\(schema) payload is malformed: \(reason)"
        }
    }
}

/// Every event type and schema version crmd has ever written, with its schema and its upcaster.
///
/// Old versions stay readable forever: `decode` turns them into the current payload on read
/// and never touches the stored bytes.
///
/// Every fact carries its business time: interactions and payments in their own `at` field
/// from v1, every other payload in an `at` member beside its fields from the version that
/// added it (v2; v3 for `ProductDefined`). Facts written before that are dated by the time the
/// log recorded them, which is when the old code said they happened.
public enum EventCatalogue {
    /// One stored (type, version) pair.
    public struct Entry: Sendable {
        /// The event type.
        public let type: String
        /// The schema version.
        public let version: UInt32
        /// The payload schema at that version.
        public let schema: Schema
        /// Whether code writes this version today (false for versions only upcast on read).
        public let current: Bool
        /// Decodes a payload of this version, given the time the log recorded it.
        let decode: @Sendable ([UInt8], Timestamp) throws -> Fact
    }

    /// The current, dated version of `P` and the undated one before it.
    private static func dated<P: EventPayload>(
        _ type: P.Type, _ wrap: @escaping @Sendable (P) -> CRMEvent
    ) -> [Entry] {
        [
            Entry(
                type: P.eventType, version: P.schemaVersion,
                schema: P.schema.adding("at", .dateTime, required: true), current: true
            ) { bytes, _ in
                let json = try JSON.parse(bytes)
                return Fact(wrap(try json.decode(P.self)), at: try businessTime(json["at"]))
            },
            Entry(type: P.eventType, version: P.schemaVersion - 1, schema: P.schema, current: false) {
                Fact(wrap(try JSON.parse($0).decode(P.self)), at: $1)
            },
        ]
    }

    /// The time in an `at` member; a stored fact without a readable one is malformed.
    private static func businessTime(_ value: JSON?) throws -> Timestamp {
        guard case .string(let text) = value, let time = Timestamp(rfc3339: text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: [], debugDescription: "at: missing or not an RFC 3339 time"))
        }
        return time
    }

    /// All entries, current and historical.
    public static let entries: [Entry] = {
        var entries: [Entry] =
            dated(CustomerRegistered.self, CRMEvent.customerRegistered)
            + dated(CustomerFieldEdited.self, CRMEvent.customerFieldEdited)
            + dated(CustomerAssigned.self, CRMEvent.customerAssigned)
            + dated(ContactAdded.self, CRMEvent.contactAdded)
            + dated(ContactRemoved.self, CRMEvent.contactRemoved)
            + dated(CompetitorNoted.self, CRMEvent.competitorNoted)
            + dated(CustomerForgotten.self, CRMEvent.customerForgotten)
            + dated(SupportContractRecorded.self, CRMEvent.supportContractRecorded)
            + dated(QuoteGiven.self, CRMEvent.quoteGiven)
            + dated(ProformaIssued.self, CRMEvent.proformaIssued)
            + dated(InvoiceIssued.self, CRMEvent.invoiceIssued)
            + dated(InvoiceVoided.self, CRMEvent.invoiceVoided)
            + dated(PipelineDefined.self, CRMEvent.pipelineDefined)
            + dated(DealOpened.self, CRMEvent.dealOpened)
            + dated(DealMoved.self, CRMEvent.dealMoved)
            + dated(DealWon.self, CRMEvent.dealWon)
            + dated(DealLost.self, CRMEvent.dealLost)
            + dated(FollowupScheduled.self, CRMEvent.followupScheduled)
            + dated(FollowupCompleted.self, CRMEvent.followupCompleted)
            + dated(FollowupDeferred.self, CRMEvent.followupDeferred)
            + dated(FollowupCancelled.self, CRMEvent.followupCancelled)
            + dated(ProductDefined.self, CRMEvent.productDefined)
            + dated(ProductRepriced.self, CRMEvent.productRepriced)
            + dated(ProductRetired.self, CRMEvent.productRetired)
            + dated(AgentHired.self, CRMEvent.agentHired)
            + dated(AgentLeft.self, CRMEvent.agentLeft)
            + dated(BranchOpened.self, CRMEvent.branchOpened)
            + dated(TargetSet.self, CRMEvent.targetSet)
        entries.append(
            Entry(type: PaymentRecorded.eventType, version: 1, schema: PaymentRecorded.schema, current: true) {
                bytes, recordedAt in
                let payment = try JSON.parse(bytes).decode(PaymentRecorded.self)
                return Fact(.paymentRecorded(payment), at: Timestamp(rfc3339: payment.at) ?? recordedAt)
            })
        entries.append(
            Entry(type: ProductDefined.eventType, version: 1, schema: ProductDefinedV1.schema, current: false) {
                Fact(.productDefined(try JSON.parse($0).decode(ProductDefinedV1.self).upcast), at: $1)
            })
        for kind in InteractionKind.allCases {
            entries.append(
                Entry(type: kind.eventType, version: 1, schema: Interaction.schema, current: true) {
                    bytes, recordedAt in
                    let interaction = try Interaction(payload: bytes)
                    return Fact(.interaction(kind, interaction), at: Timestamp(rfc3339: interaction.at) ?? recordedAt)
                })
        }
        return entries
    }()

    // By type, then version: a lookup per decoded event hashes the stored type once and builds no key.
    private static let byType: [String: [Entry]] = Dictionary(grouping: entries, by: \.type)

    /// The entry for a stored type and version, if crmd knows it.
    public static func entry(type: String, version: UInt32) -> Entry? { byType[type]?.first { $0.version == version } }

    /// Whether crmd writes or has written events of this type.
    public static func isKnown(type: String) -> Bool { byType[type] != nil }

    /// Decodes a stored payload, upcasting old schema versions to the current one and dating
    /// undated ones by `recordedAt`.
    public static func decode(
        type: String, schema: UInt32, data: [UInt8], recordedAt: Timestamp
    ) throws(EventDecodingError) -> Fact {
        guard let versions = byType[type] else { throw .unknownType(type) }
        guard let entry = versions.first(where: { $0.version == schema }) else {
            throw .unknownVersion(type: type, schema: schema)
        }
        do {
            return try entry.decode(data, recordedAt)
        } catch {
            throw .malformed(type: type, schema: schema, reason: "\(error)")
        }
    }

    /// Decodes a recorded event with its business time.
    public static func fact(_ event: RecordedEvent) throws(EventDecodingError) -> Fact {
        try decode(type: event.type, schema: event.schema, data: event.data, recordedAt: event.recordedAt)
    }

    /// Decodes a recorded event (for callers that need what happened, not when).
    public static func decode(_ event: RecordedEvent) throws(EventDecodingError) -> CRMEvent {
        try fact(event).event
    }
}
