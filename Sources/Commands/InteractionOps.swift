import CRMEvents
import Door
import EventStore
import JSONKit

/// `call.log`, `meeting.log`, `email.log`, `sms.log`, `note.add`, `negotiation.log`: interactions,
/// recorded on the customer's activity stream (`activity-<customerId>`).
///
/// Interactions are independent facts: a hundred agents logging calls with one big customer at
/// once must not wait for each other, so they append at any version of the activity stream and
/// are guarded only by the customer's own stream (forgotten? whose customer?). A client-chosen
/// interaction id is the exception: then the activity stream's version is pinned too, so two
/// racing requests cannot both record the same id.
enum InteractionOps {
    struct Log: Decodable {
        var interactionId: String?
        var customerId: String
        var agentId: String?
        var direction: String?
        var durationSeconds: Int64?
        var outcome: String?
        var subject: String?
        var text: String?
        var address: String?
        var contactId: String?
    }

    static func schema(_ kind: InteractionKind) -> Schema {
        var required = ["customerId"]
        switch kind {
        case .note, .sms: required.append("text")
        case .email: required += ["direction", "subject"]
        case .call: required.append("direction")
        case .negotiation: required += ["subject", "outcome"]
        case .meeting: break
        }
        return .record(
            [
                "interactionId": .id, "customerId": .id, "agentId": .id,
                "direction": .choice(["inbound", "outbound"]),
                "durationSeconds": .integer(minimum: 0, maximum: 86_400 * 7),
                "outcome": .text(64), "subject": .text(500), "text": .text(20_000), "address": .text(320),
                "contactId": .id,
            ], required: required)
    }

    static let all: [CommandDefinition] = InteractionKind.allCases.map { kind in
        CommandDefinition(kind.op, .customerWork(.customer(at: "/customerId")), Log.self, schema(kind)) {
            (args: Log, context: DecisionContext) throws(WireError) -> Decision in
            try log(kind, args, context)
        }
    }

    static func log(_ kind: InteractionKind, _ args: Log, _ context: DecisionContext) throws(WireError) -> Decision {
        let customer = try context.customer(args.customerId)
        let agentId = try context.recordingAgent(args.agentId)
        let id = context.newID(args.interactionId, prefix: String(kind.rawValue.prefix(1)))
        guard !context.state.interactions.contains(id) else {
            throw WireError(.conflict, "interaction \(id) already exists", path: "/interactionId")
        }
        if let contactId = args.contactId, !customer.contacts.contains(contactId) {
            throw .notFound("contact", contactId, path: "/contactId")
        }
        let key = try context.key(forCustomer: args.customerId)
        let interaction = Interaction(
            interactionId: id, customerId: args.customerId, agentId: agentId, at: context.at.rfc3339, direction: args.direction,
            durationSeconds: args.durationSeconds, outcome: args.outcome, subject: args.subject.map(key.seal),
            text: args.text.map(key.seal), address: args.address.map(key.seal), contactId: args.contactId)
        let stream = AggregateKind.activity.stream(try! EntityID(args.customerId))
        return args.interactionId == nil
            ? context.add(stream, id: id, [.interaction(kind, interaction)])
            : context.write(stream, id: id, [.interaction(kind, interaction)])
    }
}
