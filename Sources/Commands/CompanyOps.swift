import CRMEvents
import Door
import EventStore
import JSONKit

/// The catalogue, staff, branches and targets.
enum CompanyOps {
    struct DefineProduct: Decodable {
        var productId: String?
        var name: String
        var unitPrice: Money
        var unit: String?
    }
    struct Reprice: Decodable {
        var productId: String
        var unitPrice: Money
    }
    struct Retire: Decodable {
        var productId: String
    }
    struct Hire: Decodable {
        var agentId: String?
        var name: String
        var role: String?
        var branchId: String?
    }
    struct Leave: Decodable {
        var agentId: String
        var successorId: String?
    }
    struct OpenBranch: Decodable {
        var branchId: String?
        var name: String
        var region: String
        var kind: String?
    }
    struct SetTarget: Decodable {
        var targetId: String?
        var period: String
        var calendar: String?
        var scope: String
        var scopeId: String?
        var amount: Money
    }

    static let all: [CommandDefinition] = [
        CommandDefinition(
            "product.define", .companyWork, DefineProduct.self,
            .record(
                [
                    "productId": .id, "name": .text(200), "unitPrice": .money, "unit": .text(32),
                ], required: ["name", "unitPrice"]), defineProduct),
        CommandDefinition(
            "product.reprice", .companyWork, Reprice.self,
            .record(
                ["productId": .id, "unitPrice": .money],
                required: ["productId", "unitPrice"]), reprice),
        CommandDefinition(
            "product.retire", .companyWork, Retire.self, .record(["productId": .id], required: ["productId"]), retire),
        CommandDefinition(
            "agent.hire", .companyWork, Hire.self,
            .record(
                [
                    "agentId": .id, "name": .text(200), "role": .choice(["agent", "manager"]), "branchId": .id,
                ], required: ["name"]), hire),
        // successorId is a business rule, not a schema matter: refused as `successor_required`.
        CommandDefinition(
            "agent.leave", .companyWork, Leave.self,
            .record(["agentId": .id, "successorId": .id], required: ["agentId"]),
            sweepsCustomers: true, leave),
        CommandDefinition(
            "branch.open", .companyWork, OpenBranch.self,
            .record(
                [
                    "branchId": .id, "name": .text(200), "region": .text(128),
                    "kind": .choice(["branch", "representative"]),
                ], required: ["name", "region"]), openBranch),
        CommandDefinition(
            "target.set", .companyWork, SetTarget.self,
            .record(
                [
                    "targetId": .id, "period": .matching(.period), "calendar": .choice(["gregorian", "persian"]),
                    "scope": .choice(["company", "agent", "branch"]), "scopeId": .id, "amount": .money,
                ], required: ["period", "scope", "amount"]), setTarget),
    ]

    static func defineProduct(_ args: DefineProduct, _ context: DecisionContext) throws(WireError) -> Decision {
        let id = context.newID(args.productId, prefix: "prod")
        guard context.state.products[id] == nil else {
            throw WireError(.conflict, "product \(id) already exists", path: "/productId")
        }
        return context.write(
            AggregateKind.product.stream(try! EntityID(id)), id: id,
            [
                .productDefined(
                    ProductDefined(
                        productId: id, name: args.name, unitPrice: args.unitPrice, unit: args.unit ?? "piece"))
            ])
    }

    static func activeProduct(_ id: String, _ context: DecisionContext) throws(WireError) -> CompanyState.Product {
        guard let product = context.state.products[id] else { throw .notFound("product", id, path: "/productId") }
        guard !product.retired else { throw .rule("product_retired", "product \(id) is retired", path: "/productId") }
        return product
    }

    static func reprice(_ args: Reprice, _ context: DecisionContext) throws(WireError) -> Decision {
        let product = try activeProduct(args.productId, context)
        try context.notBefore(
            product.definedAt, rule: "price_before_product", "product \(args.productId) entered the catalogue")
        let price = product.price(at: context.at)
        guard price != args.unitPrice else {
            throw .rule("no_change", "product \(args.productId) already costs \(price)", path: "/unitPrice")
        }
        return context.write(
            AggregateKind.product.stream(try! EntityID(args.productId)), id: args.productId,
            [
                .productRepriced(
                    ProductRepriced(
                        productId: args.productId, from: price, to: args.unitPrice))
            ])
    }

    static func retire(_ args: Retire, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try activeProduct(args.productId, context)
        return context.write(
            AggregateKind.product.stream(try! EntityID(args.productId)), id: args.productId,
            [.productRetired(ProductRetired(productId: args.productId))])
    }

    static func hire(_ args: Hire, _ context: DecisionContext) throws(WireError) -> Decision {
        let id = context.newID(args.agentId, prefix: "a")
        guard context.state.agents[id] == nil else {
            throw WireError(
                .conflict, "agent \(id) already exists (ids of staff who left are not reused)", path: "/agentId")
        }
        if let branchId = args.branchId, !context.state.branches.contains(branchId) {
            throw .notFound("branch", branchId, path: "/branchId")
        }
        return context.write(
            AggregateKind.agent.stream(try! EntityID(id)), id: id,
            [
                .agentHired(
                    AgentHired(
                        agentId: id, name: args.name, role: args.role ?? "agent", branchId: args.branchId))
            ])
    }

    /// Writes `AgentLeft` and one `CustomerAssigned` per customer of the agent, in one commit.
    static func leave(_ args: Leave, _ context: DecisionContext) throws(WireError) -> Decision {
        guard let agent = context.state.agents[args.agentId] else {
            throw .notFound("agent", args.agentId, path: "/agentId")
        }
        guard !agent.left else {
            throw .rule("agent_outside_company", "agent \(args.agentId) has already left", path: "/agentId")
        }
        try context.notBefore(agent.hiredAt, rule: "leave_before_hire", "agent \(args.agentId) was hired")
        guard let successorId = args.successorId else {
            throw .rule(
                "successor_required", "an agent leaves only with a successor who takes over their customers",
                path: "/successorId")
        }
        guard successorId != args.agentId else {
            throw .rule("successor_is_leaving", "an agent cannot succeed themselves", path: "/successorId")
        }
        guard let successor = context.state.agents[successorId], !successor.left else {
            throw .rule(
                "successor_inactive", "successor \(successorId) is not an active agent of the company",
                path: "/successorId")
        }
        context.relied(on: .agent, successorId)
        let customers = (context.state.customersByAgent[args.agentId] ?? []).sorted()
        var decision = context.write(
            AggregateKind.agent.stream(try! EntityID(args.agentId)), id: args.agentId,
            [
                .agentLeft(
                    AgentLeft(
                        agentId: args.agentId, successorId: successorId, reassigned: Int64(customers.count)))
            ])
        for customerId in customers {
            let stream = AggregateKind.customer.stream(try! EntityID(customerId))
            decision.appends.append(
                Decision.Append(
                    stream: stream, expected: context.expected(stream),
                    events: [
                        .customerAssigned(
                            CustomerAssigned(
                                customerId: customerId, from: args.agentId, to: successorId, reason: "agent_left"))
                    ]))
        }
        return decision
    }

    static func openBranch(_ args: OpenBranch, _ context: DecisionContext) throws(WireError) -> Decision {
        let id = context.newID(args.branchId, prefix: "b")
        guard !context.state.branches.contains(id) else {
            throw WireError(.conflict, "branch \(id) already exists", path: "/branchId")
        }
        return context.write(
            AggregateKind.branch.stream(try! EntityID(id)), id: id,
            [
                .branchOpened(
                    BranchOpened(
                        branchId: id, name: args.name, region: args.region, kind: args.kind ?? "branch"))
            ])
    }

    static func setTarget(_ args: SetTarget, _ context: DecisionContext) throws(WireError) -> Decision {
        switch (args.scope, args.scopeId) {
        case ("company", nil): break
        case ("company", _?): throw .invalid("/scopeId", "must be absent for a company target")
        case (_, nil): throw .invalid("/scopeId", "is required for a target per \(args.scope)")
        case ("agent", let id?): _ = try context.activeAgent(id, path: "/scopeId")
        case (_, let id?): if !context.state.branches.contains(id) { throw .notFound("branch", id, path: "/scopeId") }
        }
        let scope = args.scopeId.map { "\(args.scope)-\($0)" } ?? args.scope
        let calendar = args.calendar ?? "gregorian"
        // One stream per scope and period, so a later target.set for the same pair replaces it in order.
        let id = args.targetId ?? "\(scope).\(calendar).\(args.period)"
        guard let entity = try? EntityID(id) else {
            throw .invalid("/targetId", "the derived id \(id) is too long; give targetId")
        }
        return context.write(
            AggregateKind.target.stream(entity), id: id,
            [
                .targetSet(
                    TargetSet(
                        targetId: id, period: args.period, calendar: calendar, scope: args.scope, scopeId: args.scopeId,
                        amount: args.amount))
            ])
    }
}
