import CRMEvents
import EventStore
import Foundation
import JSONKit

/// The customer file (the "360° view"): one customer's fields, contacts, competitors, timeline,
/// documents, payments, deals, products bought, contracts, next follow-up and last contact.
///
/// A pure fold over the customer's own events (`CustomerEventReader`), so the same code gives the
/// file now and `asOf` any past time. Personal data is opened with the customer's key; without
/// it (forgotten) every personal value is null and `erased` is true.
public struct CustomerFile: Sendable {
    /// The customer's data key, nil once forgotten.
    let key: DataKey?
    /// The file as JSON members, built up in order.
    public private(set) var exists = false
    var customerId = ""
    var fields = JSONObject()
    var agentId: String?
    var registeredAt: String?
    var forgotten = false
    var contacts: [(id: String, value: JSONObject)] = []
    var competitors: [JSON] = []
    var interactions: [JSON] = []
    var lastContact: JSONObject?
    var lastContactAt: Timestamp?
    var quotes: [JSON] = []
    var proformas: [JSON] = []
    var invoices: [(id: String, value: JSONObject)] = []
    var deals: [(id: String, value: JSONObject)] = []
    var followups: [(id: String, value: JSONObject)] = []
    var contracts: [JSON] = []
    var timeline: [JSON] = []
    var asOfPosition: Position = 0

    /// An empty file for a customer whose personal data opens with `key`.
    public init(key: DataKey?) { self.key = key }

    /// Folds a customer's events in log order.
    public static func fold(_ events: [ProjectedEvent], key: DataKey?) -> CustomerFile {
        var file = CustomerFile(key: key)
        for event in events { file.apply(event) }
        return file
    }

    private func open(_ sealed: Sealed?) -> JSON {
        guard let sealed, let text = key?.open(sealed) else { return .null }
        return .string(text)
    }

    private func openAll(_ sealed: [Sealed]) -> JSON {
        guard let key else { return .null }
        return .array(sealed.map { key.open($0).map(JSON.string) ?? .null })
    }

    /// A stored edit value in plain form: personal values are sealed JSON texts.
    private func plain(_ field: String, _ value: JSON?) -> JSON {
        guard let value else { return .null }
        if CustomerFieldEdited.fields[field] == true {
            guard let text = value.stringValue, let plain = key?.open(Sealed(text: text)) else { return .null }
            return (try? JSON.parse(plain)) ?? .null
        }
        if field == "source", case .object(var source) = value, let referrer = source["referrer"]?.stringValue {
            source["referrer"] = key?.open(Sealed(text: referrer)).map(JSON.string) ?? .null
            return .object(source)
        }
        return value
    }

    private static func money(_ money: Money?) -> JSON {
        guard let money else { return .null }
        return .object(["amount": .int(money.amount), "currency": .string(money.currency)])
    }

    private static func lines(_ lines: [DocumentLine]) -> JSON {
        .array(
            lines.map {
                .object([
                    "productId": .string($0.productId), "quantity": .int($0.quantity), "unitPrice": money($0.unitPrice),
                ])
            })
    }

    private static func update(
        _ list: inout [(id: String, value: JSONObject)], _ id: String, _ change: (inout JSONObject) -> Void
    ) {
        guard let index = list.firstIndex(where: { $0.id == id }) else { return }
        change(&list[index].value)
    }

    /// Folds one event about this customer.
    public mutating func apply(_ projected: ProjectedEvent) {
        let recorded = projected.recorded
        asOfPosition = max(asOfPosition, recorded.position)
        guard let event = projected.event else { return }
        let when = JSON.string(projected.at.rfc3339)
        timeline.append(
            .object([
                "position": .int(Int64(recorded.position)), "recordedAt": .string(recorded.recordedAt.rfc3339),
                "at": when, "type": .string(recorded.type), "actor": .string(recorded.actor.principal),
            ]))
        switch event {
        case .customerRegistered, .customerFieldEdited, .customerAssigned, .contactAdded, .contactRemoved,
            .competitorNoted,
            .customerForgotten, .supportContractRecorded:
            applyCustomer(event, projected: projected)
        case .interaction(let kind, let interaction):
            applyInteraction(kind, interaction)
        case .quoteGiven, .proformaIssued, .invoiceIssued, .invoiceVoided, .paymentRecorded:
            applyDocument(event, when: when)
        case .dealOpened, .dealMoved, .dealWon, .dealLost:
            applyDeal(event, when: when)
        case .followupScheduled, .followupCompleted, .followupDeferred, .followupCancelled:
            applyFollowup(event)
        case .pipelineDefined, .productDefined, .productRepriced, .productRetired, .agentHired, .agentLeft,
            .branchOpened, .targetSet:
            break
        }
    }

    /// Registration, edits, assignment, contacts, competitors, forgetting and support contracts.
    private mutating func applyCustomer(_ event: CRMEvent, projected: ProjectedEvent) {
        let when = JSON.string(projected.at.rfc3339)
        switch event {
        case .customerRegistered(let e):
            exists = true
            customerId = e.customerId
            agentId = e.agentId
            registeredAt = projected.at.rfc3339
            fields["kind"] = .string(e.kind)
            fields["name"] = open(e.name)
            fields["phones"] = openAll(e.phones)
            fields["emails"] = openAll(e.emails)
            fields["address"] = open(e.address)
            fields["birthday"] = open(e.birthday)
            if let source = e.source {
                fields["source"] = .object([
                    "channel": .string(source.channel), "campaign": source.campaign.map(JSON.string) ?? .null,
                    "referrer": open(source.referrer),
                ])
            } else {
                fields["source"] = .null
            }
            fields["branchId"] = e.branchId.map(JSON.string) ?? .null
            fields["tags"] = .array(e.tags.map(JSON.string))
        case .customerFieldEdited(let e):
            fields[e.field] = plain(e.field, e.new)
        case .customerAssigned(let e):
            agentId = e.to
        case .contactAdded(let e):
            contacts.append(
                (
                    e.contactId,
                    [
                        "contactId": .string(e.contactId), "name": open(e.name),
                        "role": e.role.map(JSON.string) ?? .null,
                        "phones": openAll(e.phones), "emails": openAll(e.emails),
                    ]
                ))
        case .contactRemoved(let e):
            contacts.removeAll { $0.id == e.contactId }
        case .competitorNoted(let e):
            competitors.append(
                .object([
                    "competitor": .string(e.competitor), "offer": open(e.offer), "price": CustomerFile.money(e.price),
                    "at": when, "recordedAt": .string(projected.recorded.recordedAt.rfc3339),
                ]))
        case .customerForgotten:
            forgotten = true
        case .supportContractRecorded(let e):
            contracts.append(
                .object([
                    "contractId": .string(e.contractId), "productId": e.productId.map(JSON.string) ?? .null,
                    "startsOn": .string(e.startsOn), "expiresOn": .string(e.expiresOn), "note": open(e.note),
                ]))
        default:
            break
        }
    }

    /// Quotes, pro-formas, invoices, voids and payments.
    private mutating func applyDocument(_ event: CRMEvent, when: JSON) {
        switch event {
        case .quoteGiven(let e):
            quotes.append(
                .object([
                    "quoteId": .string(e.quoteId), "givenAt": when, "agentId": .string(e.agentId),
                    "channel": .string(e.channel),
                    "lines": CustomerFile.lines(e.lines),
                    "total": CustomerFile.money(Money(amount: e.total, currency: e.currency)),
                    "validUntil": e.validUntil.map(JSON.string) ?? .null, "note": open(e.note),
                ]))
        case .proformaIssued(let e):
            let d = e.document
            proformas.append(
                .object([
                    "proformaId": .string(d.documentId), "issuedAt": when, "agentId": .string(d.agentId),
                    "lines": CustomerFile.lines(d.lines),
                    "total": CustomerFile.money(Money(amount: d.total, currency: d.currency)),
                    "basedOn": d.basedOn.map(JSON.string) ?? .null,
                ]))
        case .invoiceIssued(let e):
            let d = e.document
            invoices.append(
                (
                    d.documentId,
                    [
                        "invoiceId": .string(d.documentId), "issuedAt": when, "agentId": .string(d.agentId),
                        "lines": CustomerFile.lines(d.lines),
                        "currency": .string(d.currency), "total": .int(d.total), "paid": 0, "open": .int(d.total),
                        "dueAt": d.dueAt.map(JSON.string) ?? .null, "void": false, "payments": .array([]),
                    ]
                ))
        case .invoiceVoided(let e):
            let reason = open(e.reason)
            CustomerFile.update(&invoices, e.invoiceId) {
                $0["void"] = true
                $0["open"] = 0
                $0["voidReason"] = reason
            }
        case .paymentRecorded(let e):
            CustomerFile.update(&invoices, e.invoiceId) {
                $0["paid"] = .int(($0["paid"]?.intValue ?? 0) + e.amount.amount)
                $0["open"] = .int(e.balance)
                $0["payments"] = .array(
                    ($0["payments"]?.arrayValue ?? []) + [
                        .object([
                            "paymentId": .string(e.paymentId), "amount": .int(e.amount.amount), "at": .string(e.at),
                            "method": .string(e.method),
                        ])
                    ])
            }
        default:
            break
        }
    }

    /// Deals through the pipeline.
    private mutating func applyDeal(_ event: CRMEvent, when: JSON) {
        switch event {
        case .dealOpened(let e):
            deals.append(
                (
                    e.dealId,
                    [
                        "dealId": .string(e.dealId), "pipelineId": .string(e.pipelineId), "stage": .string(e.stage),
                        "outcome": "open",
                        "title": e.title.map(JSON.string) ?? .null, "value": CustomerFile.money(e.value),
                        "agentId": .string(e.agentId),
                        "openedAt": when,
                    ]
                ))
        case .dealMoved(let e):
            CustomerFile.update(&deals, e.dealId) { $0["stage"] = .string(e.to) }
        case .dealWon(let e):
            CustomerFile.update(&deals, e.dealId) {
                $0["stage"] = "won"
                $0["outcome"] = "won"
                $0["closedAt"] = when
                if let value = e.value { $0["value"] = CustomerFile.money(value) }
            }
        case .dealLost(let e):
            CustomerFile.update(&deals, e.dealId) {
                $0["stage"] = "lost"
                $0["outcome"] = "lost"
                $0["closedAt"] = when
                $0["lostReason"] = .string(e.reason)
                $0["lostFrom"] = .string(e.from)
            }
        default:
            break
        }
    }

    /// Follow-ups and what became of them.
    private mutating func applyFollowup(_ event: CRMEvent) {
        switch event {
        case .followupScheduled(let e):
            followups.append(
                (
                    e.followupId,
                    [
                        "followupId": .string(e.followupId), "due": .string(e.due), "kind": .string(e.kind),
                        "agentId": .string(e.agentId),
                        "note": open(e.note), "status": "scheduled",
                    ]
                ))
        case .followupCompleted(let e):
            CustomerFile.update(&followups, e.followupId) { $0["status"] = "completed" }
        case .followupDeferred(let e):
            CustomerFile.update(&followups, e.followupId) {
                $0["due"] = .string(e.to)
                $0["deferrals"] = .int(($0["deferrals"]?.intValue ?? 0) + 1)
            }
        case .followupCancelled(let e):
            CustomerFile.update(&followups, e.followupId) { $0["status"] = "cancelled" }
        default:
            break
        }
    }

    /// A call, meeting, email, SMS, note or negotiation, and the last contact it may be.
    private mutating func applyInteraction(_ kind: InteractionKind, _ e: Interaction) {
        let entry: JSONObject = [
            "interactionId": .string(e.interactionId), "kind": .string(kind.rawValue), "at": .string(e.at),
            "agentId": .string(e.agentId), "direction": e.direction.map(JSON.string) ?? .null,
            "durationSeconds": e.durationSeconds.map(JSON.int) ?? .null, "outcome": e.outcome.map(JSON.string) ?? .null,
            "subject": open(e.subject), "text": open(e.text), "address": open(e.address),
            "contactId": e.contactId.map(JSON.string) ?? .null,
        ]
        interactions.append(.object(entry))
        if kind != .note, let at = Timestamp(rfc3339: e.at), lastContactAt.map({ at >= $0 }) ?? true {
            lastContactAt = at
            lastContact = [
                "at": .string(e.at), "kind": .string(kind.rawValue), "agentId": .string(e.agentId),
                "outcome": e.outcome.map(JSON.string) ?? .null,
            ]
        }
    }

    /// One field's current plain value (`agentId` included); null when empty or erased.
    func value(ofField name: String) -> JSON {
        name == "agentId" ? agentId.map(JSON.string) ?? .null : fields[name] ?? .null
    }

    /// Open balance per currency over invoices that are not void.
    var openBalance: JSON {
        var totals: [String: Int64] = [:]
        for invoice in invoices.map(\.value) where invoice["void"] != true {
            if let currency = invoice["currency"]?.stringValue {
                totals[currency, default: 0] += invoice["open"]?.intValue ?? 0
            }
        }
        var object = JSONObject()
        for currency in totals.keys.sorted() { object[currency] = .int(totals[currency]!) }
        return .object(object)
    }

    /// Products on invoices that are not void: total quantity and every price paid, in order.
    var productsBought: JSON {
        var order: [String] = []
        var bought: [String: (quantity: Int64, prices: [JSON])] = [:]
        for invoice in invoices.map(\.value) where invoice["void"] != true {
            for line in invoice["lines"]?.arrayValue ?? [] {
                guard let product = line["productId"]?.stringValue, let quantity = line["quantity"]?.intValue else {
                    continue
                }
                if bought[product] == nil { order.append(product) }
                bought[product, default: (0, [])].quantity += quantity
                bought[product]!.prices.append(
                    .object([
                        "invoiceId": invoice["invoiceId"] ?? .null, "at": invoice["issuedAt"] ?? .null,
                        "quantity": .int(quantity), "unitPrice": line["unitPrice"] ?? .null,
                    ]))
            }
        }
        return .array(
            order.map {
                .object([
                    "productId": .string($0), "quantity": .int(bought[$0]!.quantity),
                    "prices": .array(bought[$0]!.prices),
                ])
            })
    }

    /// The earliest scheduled follow-up.
    var nextFollowup: JSON {
        let pending = followups.map(\.value).filter { $0["status"] == "scheduled" }
        let next = pending.min {
            (Timestamp(rfc3339: $0["due"]?.stringValue ?? "") ?? .init(microsecondsSince1970: .max))
                < (Timestamp(rfc3339: $1["due"]?.stringValue ?? "") ?? .init(microsecondsSince1970: .max))
        }
        return next.map(JSON.object) ?? .null
    }

    /// The interactions in the order they happened (stable on the order they were recorded):
    /// a call entered today about last week sits where last week is.
    var interactionsByBusinessTime: [JSON] {
        let times = interactions.map { Timestamp(rfc3339: $0["at"]?.stringValue ?? "")?.microsecondsSince1970 ?? 0 }
        return interactions.indices.sorted { (times[$0], $0) < (times[$1], $1) }.map { interactions[$0] }
    }

    /// The whole file as the `customer.get` result.
    public var json: JSON {
        var object: JSONObject = ["customerId": .string(customerId), "asOfPosition": .int(Int64(asOfPosition))]
        object["erased"] = .bool(forgotten || key == nil)
        object["forgotten"] = .bool(forgotten)
        for member in fields.members { object[member.key] = member.value }
        object["agentId"] = agentId.map(JSON.string) ?? .null
        object["registeredAt"] = registeredAt.map(JSON.string) ?? .null
        object["contacts"] = .array(contacts.map { .object($0.value) })
        object["competitors"] = .array(competitors)
        object["interactions"] = .array(interactionsByBusinessTime)
        object["lastContact"] = lastContact.map(JSON.object) ?? .null
        object["quotes"] = .array(quotes)
        object["proformas"] = .array(proformas)
        object["invoices"] = .array(invoices.map { .object($0.value) })
        object["openBalance"] = openBalance
        object["deals"] = .array(deals.map { .object($0.value) })
        object["productsBought"] = productsBought
        object["contracts"] = .array(contracts)
        object["followups"] = .array(followups.map { .object($0.value) })
        object["nextFollowup"] = nextFollowup
        object["timeline"] = .array(timeline)
        return .object(object)
    }
}
