import CRMEvents
import EventStore
import JSONKit
import KeyValue

extension CRMQueries {
    /// `product.list`: the catalogue as it stands, for quoting; retired products only when asked.
    func products(_ a: ProductListArgs) throws -> JSON {
        try read { txn in
            let rows = try txn.rows(CRMFacts.products).map(\.row).filter { a.includeRetired == true || !$0.retired }
            return .object([
                "products": .array(
                    rows.sorted { $0.productId < $1.productId }.map { row in
                        .object([
                            "productId": .string(row.productId), "name": .string(row.name),
                            "unitPrice": MoneyJSON.of(row.unitPrice), "retired": .bool(row.retired),
                        ])
                    })
            ])
        }
    }

    /// `deal.board`: one pipeline's deals by stage, as a funnel board shows them: open deals in
    /// their stage (longest waiting first), won and lost ones closed in the last `closedDays`.
    /// `agent` narrows it to one agent's deals (an agent always sees only their own).
    func board(_ a: BoardArgs, agent: String?) throws -> JSON {
        try read { txn in
            let pipelines = try txn.rows(CRMFacts.pipelines).map(\.row.pipelineId)
            let pipelineId = a.pipelineId ?? "default"
            let stages = try txn.row(CRMFacts.pipelines, Key.of(.text(pipelineId)))?.stages ?? defaultPipelineStages
            let closedSince = now - (a.closedDays ?? 30) * CRMQueries.day
            var byStage: [String: [DealRow]] = [:]
            for (_, deal) in try txn.rows(CRMFacts.deals) where deal.pipelineId == pipelineId {
                if let agent, deal.agentId != agent { continue }
                if let branch = a.branchId, deal.branchId != branch { continue }
                if deal.outcome != "open", (deal.closedMicros ?? 0) < closedSince { continue }
                byStage[deal.stage, default: []].append(deal)
            }
            var names: [String: JSON] = [:]
            func name(_ customerId: String) -> JSON {
                if let known = names[customerId] { return known }
                let row = try? txn.row(CRMFacts.customers, Key.of(.text(customerId)))
                let opened = row.map { $0.forgotten ? JSON.null : SealedValue.open($0.name, with: key(customerId)) } ?? .null
                names[customerId] = opened
                return opened
            }
            let limit = Int(a.limit ?? 200)
            let columns: [JSON] = stages.map { stage in
                let deals = (byStage[stage] ?? []).sorted { ($0.lastMove, $0.dealId) < ($1.lastMove, $1.dealId) }
                var total = Amounts()
                for deal in deals { if let value = deal.value { total.add(value.amount, value.currency) } }
                return .object([
                    "stage": .string(stage), "count": .int(Int64(deals.count)), "value": total.json,
                    "deals": .array(
                        deals.prefix(limit).map { deal in
                            .object([
                                "dealId": .string(deal.dealId), "customerId": .string(deal.customerId),
                                "name": name(deal.customerId), "agentId": .string(deal.agentId),
                                "value": MoneyJSON.of(deal.value), "outcome": .string(deal.outcome),
                                "since": CRMQueries.time(deal.closedMicros ?? deal.lastMove),
                                "daysInStage": .int(max(0, now - (deal.closedMicros ?? deal.lastMove)) / CRMQueries.day),
                            ])
                        }),
                ])
            }
            return .object([
                "pipelineId": .string(pipelineId), "pipelines": .array(Set(pipelines + ["default"]).sorted().map(JSON.string)),
                "stages": .array(columns),
            ])
        }
    }
}

/// `product.list`: the catalogue; retired products too when asked.
struct ProductListArgs: Decodable, Sendable {
    var includeRetired: Bool?
}

/// `deal.board`: a pipeline's deals by stage, for one agent or branch or all.
struct BoardArgs: Decodable, Sendable {
    var pipelineId: String?
    var agentId: String?
    var branchId: String?
    var closedDays: Int64?
    var limit: Int64?
}
