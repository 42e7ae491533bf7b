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
        let decode: @Sendable ([UInt8]) throws -> CRMEvent
    }

    private static func entry<P: EventPayload>(_ type: P.Type, _ wrap: @escaping @Sendable (P) -> CRMEvent) -> Entry {
        Entry(type: P.eventType, version: P.schemaVersion, schema: P.schema, current: true) {
            wrap(try JSON.parse($0).decode(P.self))
        }
    }

    /// All entries, current and historical.
    public static let entries: [Entry] = {
        var entries: [Entry] = [
            entry(CustomerRegistered.self, CRMEvent.customerRegistered),
            entry(CustomerFieldEdited.self, CRMEvent.customerFieldEdited),
            entry(CustomerAssigned.self, CRMEvent.customerAssigned),
            entry(ContactAdded.self, CRMEvent.contactAdded),
            entry(ContactRemoved.self, CRMEvent.contactRemoved),
            entry(CompetitorNoted.self, CRMEvent.competitorNoted),
            entry(CustomerForgotten.self, CRMEvent.customerForgotten),
            entry(SupportContractRecorded.self, CRMEvent.supportContractRecorded),
            entry(QuoteGiven.self, CRMEvent.quoteGiven),
            entry(ProformaIssued.self, CRMEvent.proformaIssued),
            entry(InvoiceIssued.self, CRMEvent.invoiceIssued),
            entry(InvoiceVoided.self, CRMEvent.invoiceVoided),
            entry(PaymentRecorded.self, CRMEvent.paymentRecorded),
            entry(PipelineDefined.self, CRMEvent.pipelineDefined),
            entry(DealOpened.self, CRMEvent.dealOpened),
            entry(DealMoved.self, CRMEvent.dealMoved),
            entry(DealWon.self, CRMEvent.dealWon),
            entry(DealLost.self, CRMEvent.dealLost),
            entry(FollowupScheduled.self, CRMEvent.followupScheduled),
            entry(FollowupCompleted.self, CRMEvent.followupCompleted),
            entry(FollowupDeferred.self, CRMEvent.followupDeferred),
            entry(FollowupCancelled.self, CRMEvent.followupCancelled),
            entry(ProductDefined.self, CRMEvent.productDefined),
            entry(ProductRepriced.self, CRMEvent.productRepriced),
            entry(ProductRetired.self, CRMEvent.productRetired),
            entry(AgentHired.self, CRMEvent.agentHired),
            entry(AgentLeft.self, CRMEvent.agentLeft),
            entry(BranchOpened.self, CRMEvent.branchOpened),
            entry(TargetSet.self, CRMEvent.targetSet),
            Entry(type: ProductDefined.eventType, version: 1, schema: ProductDefinedV1.schema, current: false) {
                .productDefined(try JSON.parse($0).decode(ProductDefinedV1.self).upcast)
            },
        ]
        for kind in InteractionKind.allCases {
            entries.append(
                Entry(type: kind.eventType, version: 1, schema: Interaction.schema, current: true) {
                    .interaction(kind, try Interaction(payload: $0))
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

    /// Decodes a stored payload, upcasting old schema versions to the current one.
    public static func decode(type: String, schema: UInt32, data: [UInt8]) throws(EventDecodingError) -> CRMEvent {
        guard let versions = byType[type] else { throw .unknownType(type) }
        guard let entry = versions.first(where: { $0.version == schema }) else {
            throw .unknownVersion(type: type, schema: schema)
        }
        do {
            return try entry.decode(data)
        } catch {
            throw .malformed(type: type, schema: schema, reason: "\(error)")
        }
    }

    /// Decodes a recorded event.
    public static func decode(_ event: RecordedEvent) throws(EventDecodingError) -> CRMEvent {
        try decode(type: event.type, schema: event.schema, data: event.data)
    }
}
