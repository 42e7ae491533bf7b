import CRMEvents
import Door
import EventStore
import JSONKit

/// `pipeline.define` and `deal.*`: opportunities moving through a pipeline's stages.
enum DealOps {
    static let closedStages: Set<String> = ["won", "lost"]

    struct Define: Decodable {
        var pipelineId: String?
        var name: String?
        var stages: [String]
    }
    struct Open: Decodable {
        var dealId: String?
        var customerId: String
        var agentId: String?
        var pipelineId: String?
        var stage: String?
        var title: String?
        var value: Money?
        var expectedCloseAt: String?
    }
    struct Move: Decodable {
        var dealId: String
        var stage: String
    }
    struct Win: Decodable {
        var dealId: String
        var value: Money?
        var invoiceId: String?
    }
    struct Lose: Decodable {
        var dealId: String
        var reason: String
        var competitor: String?
        var note: String?
    }

    static let all: [CommandDefinition] = [
        CommandDefinition(
            "pipeline.define", .companyWork, Define.self,
            .record(
                [
                    "pipelineId": .id, "name": .text(128), "stages": .list(.matching(.id), min: 3, max: 32),
                ], required: ["stages"]), define),
        CommandDefinition(
            "deal.open", .customerWork(.customer(at: "/customerId")), Open.self,
            .record(
                [
                    "dealId": .id, "customerId": .id, "agentId": .id, "pipelineId": .id, "stage": .matching(.id),
                    "title": .text(200),
                    "value": .money, "expectedCloseAt": .dateTime,
                ], required: ["customerId"]), open),
        CommandDefinition(
            "deal.move", .customerWork(.deal(at: "/dealId")), Move.self,
            .record(["dealId": .id, "stage": .matching(.id)], required: ["dealId", "stage"]), move),
        CommandDefinition(
            "deal.win", .customerWork(.deal(at: "/dealId")), Win.self,
            .record(["dealId": .id, "value": .money, "invoiceId": .id], required: ["dealId"]), win),
        CommandDefinition(
            "deal.lose", .customerWork(.deal(at: "/dealId")), Lose.self,
            .record(
                [
                    "dealId": .id, "reason": .choice(DealLost.reasons), "competitor": .text(200), "note": .text(2000),
                ], required: ["dealId", "reason"]), lose),
    ]

    static func define(_ args: Define, _ context: DecisionContext) throws(WireError) -> Decision {
        let id = args.pipelineId ?? "default"
        guard Set(args.stages).count == args.stages.count else {
            throw .rule("stages_repeat", "each stage may appear once", path: "/stages")
        }
        guard args.stages.contains("won"), args.stages.contains("lost") else {
            throw .rule("stages_need_outcomes", "a pipeline must have the stages won and lost", path: "/stages")
        }
        if context.state.pipelines[id] == args.stages {
            throw .rule("no_change", "pipeline \(id) already has these stages", path: "/stages")
        }
        let open = context.state.deals.values.filter { $0.pipelineId == id && $0.outcome == .open }
        if let stranded = open.first(where: { !args.stages.contains($0.stage) }) {
            throw .rule(
                "stage_in_use", "open deals are in stage \(stranded.stage); move them before removing it",
                path: "/stages")
        }
        return context.write(
            AggregateKind.pipeline.stream(try! EntityID(id)), id: id,
            [.pipelineDefined(PipelineDefined(pipelineId: id, name: args.name, stages: args.stages))])
    }

    static func open(_ args: Open, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let agentId = try context.recordingAgent(args.agentId)
        let pipelineId = args.pipelineId ?? "default"
        guard let stages = context.state.stages(of: pipelineId) else {
            throw .notFound("pipeline", pipelineId, path: "/pipelineId")
        }
        context.relied(on: .pipeline, pipelineId)
        let stage = args.stage ?? stages.first { !closedStages.contains($0) }!
        guard stages.contains(stage) else {
            throw .rule(
                "stage_unknown",
                "pipeline \(pipelineId) has no stage \(stage) (it has \(stages.joined(separator: ", ")))",
                path: "/stage")
        }
        guard !closedStages.contains(stage) else {
            throw .rule(
                "stage_closed", "a deal opens in an open stage; use deal.win or deal.lose to close it", path: "/stage")
        }
        if let expected = args.expectedCloseAt { _ = try context.time(expected, path: "/expectedCloseAt") }
        let id = context.newID(args.dealId, prefix: "d")
        guard context.state.deals[id] == nil else {
            throw WireError(.conflict, "deal \(id) already exists", path: "/dealId")
        }
        return context.write(
            AggregateKind.deal.stream(try! EntityID(id)), id: id,
            [
                .dealOpened(
                    DealOpened(
                        dealId: id, customerId: args.customerId, agentId: agentId, pipelineId: pipelineId, stage: stage,
                        title: args.title,
                        value: args.value, expectedCloseAt: args.expectedCloseAt))
            ])
    }

    /// The deal, refusing unknown and closed ones and those of forgotten customers.
    static func openDeal(_ id: String, _ context: DecisionContext) throws(WireError) -> CompanyState.Deal {
        guard let deal = context.state.deals[id] else { throw .notFound("deal", id, path: "/dealId") }
        _ = try context.customer(deal.customerId, path: "/dealId")
        guard deal.outcome == .open else {
            throw .rule(
                "deal_closed", "deal \(id) was already \(deal.outcome == .won ? "won" : "lost")", path: "/dealId")
        }
        try context.notBefore(deal.openedAt, rule: "deal_before_opened", "deal \(id) was opened")
        try context.notBefore(deal.movedAt, rule: "deal_before_last_move", "deal \(id) last changed stage")
        return deal
    }

    static func move(_ args: Move, _ context: DecisionContext) throws(WireError) -> Decision {
        let deal = try openDeal(args.dealId, context)
        let stages = context.state.stages(of: deal.pipelineId) ?? defaultPipelineStages
        context.relied(on: .pipeline, deal.pipelineId)
        guard stages.contains(args.stage) else {
            throw .rule("stage_unknown", "pipeline \(deal.pipelineId) has no stage \(args.stage)", path: "/stage")
        }
        guard !closedStages.contains(args.stage) else {
            throw .rule("stage_closed", "use deal.win or deal.lose to close a deal", path: "/stage")
        }
        guard args.stage != deal.stage else {
            throw .rule("no_change", "deal \(args.dealId) is already in \(args.stage)", path: "/stage")
        }
        return context.write(
            AggregateKind.deal.stream(try! EntityID(args.dealId)), id: args.dealId,
            [
                .dealMoved(
                    DealMoved(
                        dealId: args.dealId, customerId: deal.customerId, from: deal.stage, to: args.stage))
            ])
    }

    static func win(_ args: Win, _ context: DecisionContext) throws(WireError) -> Decision {
        let deal = try openDeal(args.dealId, context)
        if let invoiceId = args.invoiceId {
            guard let invoice = context.state.invoices[invoiceId] else {
                throw .notFound("invoice", invoiceId, path: "/invoiceId")
            }
            guard invoice.customerId == deal.customerId else {
                throw .rule(
                    "document_of_another_customer",
                    "invoice \(invoiceId) was made out to customer \(invoice.customerId)", path: "/invoiceId")
            }
        }
        return context.write(
            AggregateKind.deal.stream(try! EntityID(args.dealId)), id: args.dealId,
            [
                .dealWon(
                    DealWon(
                        dealId: args.dealId, customerId: deal.customerId, from: deal.stage, value: args.value,
                        invoiceId: args.invoiceId))
            ])
    }

    static func lose(_ args: Lose, _ context: DecisionContext) throws(WireError) -> Decision {
        let deal = try openDeal(args.dealId, context)
        let key = try context.key(forCustomer: deal.customerId)
        return context.write(
            AggregateKind.deal.stream(try! EntityID(args.dealId)), id: args.dealId,
            [
                .dealLost(
                    DealLost(
                        dealId: args.dealId, customerId: deal.customerId, from: deal.stage, reason: args.reason,
                        competitor: args.competitor,
                        note: args.note.map(key.seal)))
            ])
    }
}
