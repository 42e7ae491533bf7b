import CRMEvents
import Door
import EventStore
import JSONKit

/// `followup.*`: reminders on an agent's agenda; deferred ones come back at their new time.
enum FollowupOps {
    struct Schedule: Decodable {
        var followupId: String?
        var customerId: String
        var agentId: String?
        var due: String
        var kind: String
        var note: String?
        var dealId: String?
        var quoteId: String?
        var invoiceId: String?
    }
    struct Complete: Decodable {
        var followupId: String
        var agentId: String?
        var outcome: String?
        var note: String?
    }
    struct Defer: Decodable {
        var followupId: String
        var to: String
        var reason: String?
    }
    struct Cancel: Decodable {
        var followupId: String
        var reason: String?
    }

    static let all: [CommandDefinition] = [
        CommandDefinition(
            "followup.schedule", .customerWork(.customer(at: "/customerId")), Schedule.self,
            .record(
                [
                    "followupId": .id, "customerId": .id, "agentId": .id, "due": .dateTime,
                    "kind": .choice(FollowupScheduled.kinds),
                    "note": .text(2000), "dealId": .id, "quoteId": .id, "invoiceId": .id,
                ], required: ["customerId", "due", "kind"]), schedule),
        CommandDefinition(
            "followup.complete", .customerWork(.followup(at: "/followupId")), Complete.self,
            .record(
                [
                    "followupId": .id, "agentId": .id, "outcome": .text(64), "note": .text(2000),
                ], required: ["followupId"]), complete),
        CommandDefinition(
            "followup.defer", .customerWork(.followup(at: "/followupId")), Defer.self,
            .record(
                ["followupId": .id, "to": .dateTime, "reason": .text(2000)],
                required: ["followupId", "to"]), deferral),
        CommandDefinition(
            "followup.cancel", .customerWork(.followup(at: "/followupId")), Cancel.self,
            .record(
                ["followupId": .id, "reason": .text(2000)],
                required: ["followupId"]), cancel),
    ]

    static func schedule(_ args: Schedule, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let agentId = try context.recordingAgent(args.agentId)
        _ = try context.time(args.due, path: "/due")
        let state = context.state
        if let id = args.dealId, state.deals[id]?.customerId != args.customerId {
            throw .notFound("deal of this customer", id, path: "/dealId")
        }
        if let id = args.quoteId, state.quotes[id]?.customerId != args.customerId {
            throw .notFound("quote of this customer", id, path: "/quoteId")
        }
        if let id = args.invoiceId, state.invoices[id]?.customerId != args.customerId {
            throw .notFound("invoice of this customer", id, path: "/invoiceId")
        }
        let id = context.newID(args.followupId, prefix: "fu")
        guard state.followups[id] == nil else {
            throw WireError(.conflict, "follow-up \(id) already exists", path: "/followupId")
        }
        let key = try context.key(forCustomer: args.customerId)
        return context.write(
            AggregateKind.followup.stream(try! EntityID(id)), id: id,
            [
                .followupScheduled(
                    FollowupScheduled(
                        followupId: id, customerId: args.customerId, agentId: agentId, due: args.due, kind: args.kind,
                        note: args.note.map(key.seal), dealId: args.dealId, quoteId: args.quoteId,
                        invoiceId: args.invoiceId))
            ])
    }

    /// The follow-up, refusing unknown ones, those already closed and those of forgotten customers.
    static func pending(_ id: String, _ context: DecisionContext) throws(WireError) -> CompanyState.Followup {
        guard let followup = context.state.followups[id] else { throw .notFound("follow-up", id, path: "/followupId") }
        _ = try context.customer(followup.customerId, path: "/followupId")
        switch followup.status {
        case .scheduled:
            try context.notBefore(followup.scheduledAt, rule: "followup_before_scheduled", "follow-up \(id) was scheduled")
            return followup
        case .cancelled: throw .rule("followup_cancelled", "follow-up \(id) was cancelled", path: "/followupId")
        case .completed: throw .rule("followup_completed", "follow-up \(id) was already completed", path: "/followupId")
        }
    }

    static func complete(_ args: Complete, _ context: DecisionContext) throws(WireError) -> Decision {
        let followup = try pending(args.followupId, context)
        let agentId = try context.recordingAgent(
            args.agentId ?? (context.state.agents[context.command.actor.principal] == nil ? followup.agentId : nil))
        let key = try context.key(forCustomer: followup.customerId)
        return context.write(
            AggregateKind.followup.stream(try! EntityID(args.followupId)), id: args.followupId,
            [
                .followupCompleted(
                    FollowupCompleted(
                        followupId: args.followupId, customerId: followup.customerId, agentId: agentId,
                        outcome: args.outcome, note: args.note.map(key.seal)))
            ])
    }

    static func deferral(_ args: Defer, _ context: DecisionContext) throws(WireError) -> Decision {
        let followup = try pending(args.followupId, context)
        let to = try context.time(args.to, path: "/to")
        let from = try context.time(followup.due, path: "/followupId")
        guard to > from else {
            throw .rule(
                "defer_not_later", "deferring moves a follow-up later than its due time \(followup.due)", path: "/to")
        }
        let key = try context.key(forCustomer: followup.customerId)
        return context.write(
            AggregateKind.followup.stream(try! EntityID(args.followupId)), id: args.followupId,
            [
                .followupDeferred(
                    FollowupDeferred(
                        followupId: args.followupId, customerId: followup.customerId, from: followup.due, to: args.to,
                        reason: args.reason.map(key.seal)))
            ])
    }

    static func cancel(_ args: Cancel, _ context: DecisionContext) throws(WireError) -> Decision {
        let followup = try pending(args.followupId, context)
        let key = try context.key(forCustomer: followup.customerId)
        return context.write(
            AggregateKind.followup.stream(try! EntityID(args.followupId)), id: args.followupId,
            [
                .followupCancelled(
                    FollowupCancelled(
                        followupId: args.followupId, customerId: followup.customerId, reason: args.reason.map(key.seal))
                )
            ])
    }
}
