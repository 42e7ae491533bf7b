import CRMEvents
import EventStore
import JSONKit
import KeyValue

/// crm-facts' folds, one function per family of events.
extension CRMFacts {
    /// Registration, edits, assignments, forgetting and support contracts.
    func foldCustomer(_ event: CRMEvent, _ fold: Fold) throws {
        let txn = fold.txn
        switch event {
        case .customerRegistered(let e):
            try register(e, fold)
        case .customerFieldEdited(let e):
            try edit(e, fold)
        case .customerAssigned(let e):
            try txn.delete(Self.customersByAgent, Key.of(.text(e.from), .text(e.customerId)))
            try txn.put(Self.customersByAgent, Key.of(.text(e.to), .text(e.customerId)), [])
            try txn.update(Self.customers, Key.of(.text(e.customerId))) { $0.agentId = e.to }
        case .customerForgotten(let e):
            try txn.update(Self.customers, Key.of(.text(e.customerId))) { row in
                row.forgotten = true
                (row.name, row.phones, row.emails, row.birthday) = (nil, nil, nil, nil)
            }
            try search.forget(e.customerId, txn)
        case .supportContractRecorded(let e):
            let expires = Self.micros(e.expiresOn + "T00:00:00Z") ?? 0
            try txn.put(
                Self.contracts, Key.of(.time(expires), .text(e.contractId)),
                ContractRow(
                    contractId: e.contractId, customerId: e.customerId, productId: e.productId, expiresOn: e.expiresOn))
        default:
            break
        }
    }

    private func register(_ e: CustomerRegistered, _ fold: Fold) throws {
        let row = CustomerRow(
            customerId: e.customerId, agentId: e.agentId, branchId: e.branchId, kind: e.kind, tags: e.tags,
            channel: e.source?.channel, campaign: e.source?.campaign, registeredAt: fold.when,
            registeredMicros: fold.at,
            name: .text(e.name), phones: .texts(e.phones), emails: .texts(e.emails),
            birthday: e.birthday.map(SealedValue.text),
            forgotten: false)
        try fold.txn.put(Self.customers, Key.of(.text(e.customerId)), row)
        try fold.txn.put(Self.customersByAgent, Key.of(.text(e.agentId), .text(e.customerId)), [])
        for tag in e.tags {
            try fold.txn.put(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)), [])
        }
        try indexSearch(e.customerId, fold)
    }

    private func edit(_ e: CustomerFieldEdited, _ fold: Fold) throws {
        let txn = fold.txn
        let customerKey = Key.of(.text(e.customerId))
        guard var row = try txn.row(Self.customers, customerKey) else { return }
        switch e.field {
        case "name", "phones", "emails", "birthday", "address":
            let sealed = e.new.flatMap(\.stringValue).map { SealedValue.json(Sealed(text: $0)) }
            switch e.field {
            case "name": row.name = sealed
            case "phones": row.phones = sealed
            case "emails": row.emails = sealed
            case "birthday": row.birthday = sealed
            default: break  // addresses are not kept here: no list or report shows one
            }
            try indexSearch(e.customerId, fold)
        case "tags":
            for tag in row.tags {
                try txn.delete(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)))
            }
            row.tags = e.new?.arrayValue?.compactMap(\.stringValue) ?? []
            for tag in row.tags {
                try txn.put(Self.customersByTag, Key.of(.text(SearchText.normalize(tag)), .text(e.customerId)), [])
            }
        case "source":
            row.channel = e.new?["channel"]?.stringValue
            row.campaign = e.new?["campaign"]?.stringValue
        case "kind":
            row.kind = e.new?.stringValue ?? row.kind
        case "branchId":
            row.branchId = e.new?.stringValue
        default:
            break
        }
        try txn.put(Self.customers, customerKey, row)
    }

    /// Calls, meetings, emails, SMS, notes and negotiations, by their business time.
    func foldInteraction(_ kind: InteractionKind, _ e: Interaction, _ fold: Fold) throws {
        let business = Self.micros(e.at) ?? fold.at
        try fold.txn.put(
            Self.interactions, Key.of(.time(business), .number(UInt64(fold.projected.recorded.position))),
            InteractionRow(
                customerId: e.customerId, agentId: e.agentId, kind: kind.rawValue, at: e.at, outcome: e.outcome,
                direction: e.direction))
        if kind != .note {
            let key = Key.of(.text(e.customerId))
            let previous = try fold.txn.get(Self.lastContacts, key).map { KeyPart.time(in: $0, at: 0) }
            if previous.map({ $0 <= business }) ?? true {
                let contact = LastContactRow(at: e.at, kind: kind.rawValue, agentId: e.agentId, outcome: e.outcome)
                try fold.txn.put(Self.lastContacts, key, KeyPart.time(business).bytes + contact.json.bytes())
            }
        }
        try indexSearch(e.customerId, fold)
    }

    /// Quotes, invoices, voids and payments.
    func foldDocument(_ event: CRMEvent, _ fold: Fold) throws {
        let txn = fold.txn
        switch event {
        case .quoteGiven(let e):
            let quoteKey = Key.of(.time(fold.at), .text(e.quoteId))
            try txn.put(
                Self.quotes, quoteKey,
                QuoteRow(
                    quoteId: e.quoteId, customerId: e.customerId, agentId: e.agentId, givenAt: fold.when,
                    total: e.total,
                    currency: e.currency, validUntil: e.validUntil, channel: e.channel))
            if let valid = Self.micros(e.validUntil) {
                try txn.put(Self.quotesByExpiry, Key.of(.time(valid), .text(e.quoteId)), quoteKey)
            }
        case .invoiceIssued(let e):
            try issue(e.document, fold)
        case .invoiceVoided(let e):
            if let saleKey = try txn.get(Self.invoiceKeys, Key.of(.text(e.invoiceId))) {
                try txn.update(Self.sales, saleKey) { $0.void = true }
            }
        case .paymentRecorded(let e):
            var agentId: String?
            if let saleKey = try txn.get(Self.invoiceKeys, Key.of(.text(e.invoiceId))) {
                try txn.update(Self.sales, saleKey) { row in
                    row.paid += e.amount.amount
                    agentId = row.agentId
                }
            }
            try txn.put(
                Self.payments, Key.of(.time(Self.micros(e.at) ?? fold.at), .text(e.paymentId)),
                PaymentRow(
                    invoiceId: e.invoiceId, customerId: e.customerId, agentId: agentId, amount: e.amount.amount,
                    currency: e.amount.currency, at: e.at))
        default:
            break
        }
    }

    private func issue(_ d: IssuedDocument, _ fold: Fold) throws {
        let customer = try fold.txn.row(Self.customers, Key.of(.text(d.customerId)))
        let saleKey = Key.of(.time(fold.at), .text(d.documentId))
        try fold.txn.put(
            Self.sales, saleKey,
            SaleRow(
                invoiceId: d.documentId, customerId: d.customerId, agentId: d.agentId, branchId: customer?.branchId,
                channel: customer?.channel, campaign: customer?.campaign, issuedAt: fold.when, currency: d.currency,
                total: d.total,
                paid: 0, void: false, dueAt: d.dueAt, dueMicros: Self.micros(d.dueAt),
                lines: d.lines.map {
                    SaleLine(productId: $0.productId, quantity: $0.quantity, amount: $0.quantity * $0.unitPrice.amount)
                }))
        try fold.txn.put(Self.invoiceKeys, Key.of(.text(d.documentId)), saleKey)
    }

    /// Pipelines and deals through their stages.
    func foldDeal(_ event: CRMEvent, _ fold: Fold) throws {
        let txn = fold.txn
        switch event {
        case .pipelineDefined(let e):
            try txn.put(
                Self.pipelines, Key.of(.text(e.pipelineId)), PipelineRow(pipelineId: e.pipelineId, stages: e.stages))
        case .dealOpened(let e):
            let customer = try txn.row(Self.customers, Key.of(.text(e.customerId)))
            try txn.put(
                Self.deals, Key.of(.text(e.dealId)),
                DealRow(
                    dealId: e.dealId, customerId: e.customerId, agentId: e.agentId, branchId: customer?.branchId,
                    channel: customer?.channel, campaign: customer?.campaign, pipelineId: e.pipelineId, stage: e.stage,
                    outcome: "open", openedMicros: fold.at, value: e.value,
                    history: [StageStep(stage: e.stage, at: fold.at)]))
        case .dealMoved(let e):
            try moveDeal(e.dealId, to: e.to, fold)
        case .dealWon(let e):
            try moveDeal(e.dealId, to: "won", fold) { row in
                row.outcome = "won"
                row.closedMicros = fold.at
                if let value = e.value { row.value = value }
            }
        case .dealLost(let e):
            try moveDeal(e.dealId, to: "lost", fold) { row in
                row.outcome = "lost"
                row.closedMicros = fold.at
                row.lostReason = e.reason
                row.lostFrom = e.from
            }
        default:
            break
        }
    }

    private func moveDeal(
        _ dealId: String, to stage: String, _ fold: Fold, _ more: (inout DealRow) -> Void = { _ in }
    ) throws {
        try fold.txn.update(Self.deals, Key.of(.text(dealId))) { row in
            row.stage = stage
            row.history.append(StageStep(stage: stage, at: fold.at))
            more(&row)
        }
    }

    /// Follow-ups scheduled, deferred, completed and cancelled, and each agent's agenda index.
    func foldFollowup(_ event: CRMEvent, _ fold: Fold) throws {
        let txn = fold.txn
        switch event {
        case .followupScheduled(let e):
            let due = Self.micros(e.due) ?? fold.at
            try txn.put(
                Self.followups, Key.of(.text(e.followupId)),
                FollowupRow(
                    followupId: e.followupId, customerId: e.customerId, agentId: e.agentId, due: e.due, dueMicros: due,
                    kind: e.kind,
                    status: "scheduled", deferrals: 0, scheduledAt: fold.when))
            try txn.put(Self.followupsByAgent, Key.of(.text(e.agentId), .time(due), .text(e.followupId)), [])
        case .followupDeferred(let e):
            try txn.update(Self.followups, Key.of(.text(e.followupId))) { row in
                try txn.delete(
                    Self.followupsByAgent, Key.of(.text(row.agentId), .time(row.dueMicros), .text(e.followupId)))
                row.due = e.to
                row.dueMicros = Self.micros(e.to) ?? fold.at
                row.deferrals += 1
                try txn.put(
                    Self.followupsByAgent, Key.of(.text(row.agentId), .time(row.dueMicros), .text(e.followupId)), [])
                try txn.put(
                    Self.deferrals, Key.of(.time(fold.at), .text(e.followupId)),
                    DeferralRow(
                        followupId: e.followupId, customerId: e.customerId, agentId: row.agentId, kind: row.kind,
                        from: e.from, to: e.to))
            }
        case .followupCompleted(let e):
            try closeFollowup(e.followupId, status: "completed", txn)
        case .followupCancelled(let e):
            try closeFollowup(e.followupId, status: "cancelled", txn)
        default:
            break
        }
    }

    private func closeFollowup(_ followupId: String, status: String, _ txn: KeyValueTransaction) throws {
        try txn.update(Self.followups, Key.of(.text(followupId))) { row in
            row.status = status
            try txn.delete(Self.followupsByAgent, Key.of(.text(row.agentId), .time(row.dueMicros), .text(followupId)))
        }
    }

    /// The catalogue, staff, branches and targets.
    func foldCompany(_ event: CRMEvent, _ fold: Fold) throws {
        let txn = fold.txn
        switch event {
        case .productDefined(let e):
            try txn.put(
                Self.products, Key.of(.text(e.productId)),
                ProductRow(
                    productId: e.productId, name: e.name, unitPrice: e.unitPrice, retired: false))
        case .productRepriced(let e):
            try txn.update(Self.products, Key.of(.text(e.productId))) { $0.unitPrice = e.to }
        case .productRetired(let e):
            try txn.update(Self.products, Key.of(.text(e.productId))) { $0.retired = true }
        case .agentHired(let e):
            try txn.put(
                Self.agents, Key.of(.text(e.agentId)),
                AgentRow(
                    agentId: e.agentId, name: e.name, role: e.role, branchId: e.branchId, left: false))
        case .agentLeft(let e):
            try txn.update(Self.agents, Key.of(.text(e.agentId))) { row in
                row.left = true
                row.successorId = e.successorId
            }
        case .branchOpened(let e):
            try txn.put(
                Self.branches, Key.of(.text(e.branchId)),
                BranchRow(
                    branchId: e.branchId, name: e.name, region: e.region, kind: e.kind))
        case .targetSet(let e):
            try txn.put(
                Self.targets, Key.of(.text(e.targetId)),
                TargetRow(
                    targetId: e.targetId, period: e.period, calendar: e.calendar, scope: e.scope, scopeId: e.scopeId,
                    amount: e.amount, setAt: fold.when))
        default:
            break
        }
    }
}
