import CRMEvents
import Door
import EventStore
import JSONKit
import KeyValue

/// `customer.*` and `contract.support`: the customer stream, which holds the customer file.
enum CustomerOps {
    struct Source: Decodable {
        var channel: String
        var campaign: String?
        var referrer: String?
    }
    static let sourceSchema = Schema.record(
        ["channel": .text(64), "campaign": .text(128), "referrer": .text(200)],
        required: ["channel"])
    static let kinds = ["person", "organisation"]

    struct Register: Decodable {
        var customerId: String?
        var kind: String?
        var name: String
        var phones: [String]?
        var emails: [String]?
        var address: String?
        var birthday: String?
        var source: Source?
        var agentId: String?
        var branchId: String?
        var tags: [String]?
    }

    /// `customer.edit` keeps the raw arguments: which fields are present (and null) matters.
    struct Edit: Decodable {
        var customerId: String
        var raw: JSON

        init(from decoder: Decoder) throws {
            raw = try JSON(from: decoder)
            customerId = raw["customerId"]?.stringValue ?? ""
        }
    }

    struct Assign: Decodable {
        var customerId: String
        var agentId: String
    }

    struct AddContact: Decodable {
        var customerId: String
        var contactId: String?
        var name: String
        var role: String?
        var phones: [String]?
        var emails: [String]?
    }

    struct RemoveContact: Decodable {
        var customerId: String
        var contactId: String
    }

    struct NoteCompetitor: Decodable {
        var customerId: String
        var competitor: String
        var offer: String?
        var price: Money?
    }

    struct Forget: Decodable {
        var customerId: String
        var reason: String?
    }

    struct SupportContract: Decodable {
        var contractId: String?
        var customerId: String
        var productId: String?
        var startsOn: String?
        var expiresOn: String
        var note: String?
    }

    /// The fields `customer.edit` accepts, with the schema of each new value (null clears optional ones).
    static let editableFields: KeyValuePairs<String, Schema> = [
        "kind": .choice(kinds), "name": .text(200), "phones": .list(.matching(.phone), max: 16),
        "emails": .list(.matching(.email), max: 16), "address": .nullable(.text(500)), "birthday": .nullable(.date),
        "source": .nullable(sourceSchema), "branchId": .nullable(.id), "tags": .list(.text(64), max: 32),
    ]

    static let all: [CommandDefinition] = [
        CommandDefinition(
            "customer.register", .customerWork(.none), Register.self,
            .record(
                [
                    "customerId": .id, "kind": .choice(kinds), "name": .text(200),
                    "phones": .list(.matching(.phone), max: 16),
                    "emails": .list(.matching(.email), max: 16), "address": .text(500), "birthday": .date,
                    "source": sourceSchema,
                    "agentId": .id, "branchId": .id, "tags": .list(.text(64), max: 32),
                ], required: ["name"]), register),
        CommandDefinition(
            "customer.edit", .customerWork(.customer(at: "/customerId")), Edit.self,
            .object(
                ObjectRule(
                    [("customerId", .id)] + editableFields.map { ($0.key, $0.value) }, required: ["customerId"])), edit),
        CommandDefinition(
            "customer.assign", .companyWork, Assign.self,
            .record(
                ["customerId": .id, "agentId": .id],
                required: ["customerId", "agentId"]), assign),
        CommandDefinition(
            "customer.contact.add", .customerWork(.customer(at: "/customerId")), AddContact.self,
            .record(
                [
                    "customerId": .id, "contactId": .id, "name": .text(200), "role": .text(128),
                    "phones": .list(.matching(.phone), max: 8), "emails": .list(.matching(.email), max: 8),
                ], required: ["customerId", "name"]), addContact),
        CommandDefinition(
            "customer.contact.remove", .customerWork(.customer(at: "/customerId")), RemoveContact.self,
            .record(
                ["customerId": .id, "contactId": .id],
                required: ["customerId", "contactId"]), removeContact),
        CommandDefinition(
            "customer.competitor.note", .customerWork(.customer(at: "/customerId")), NoteCompetitor.self,
            .record(
                [
                    "customerId": .id, "competitor": .text(200), "offer": .text(2000), "price": .money,
                ], required: ["customerId", "competitor"]), noteCompetitor),
        CommandDefinition(
            "customer.forget", .companyWork, Forget.self,
            .record(
                [
                    "customerId": .id, "reason": .choice(["customer_request", "legal_obligation", "other"]),
                ], required: ["customerId"]), forgetsCustomer: true, dated: false, forget),
        CommandDefinition(
            "contract.support", .customerWork(.customer(at: "/customerId")), SupportContract.self,
            .record(
                [
                    "contractId": .id, "customerId": .id, "productId": .id, "startsOn": .date, "expiresOn": .date,
                    "note": .text(2000),
                ], required: ["customerId", "expiresOn"]), supportContract),
    ]

    static func register(_ args: Register, _ context: DecisionContext) throws(WireError) -> Decision {
        let id = context.newID(args.customerId, prefix: "c")
        let stream = AggregateKind.customer.stream(try! EntityID(id))
        guard context.state.customers[id] == nil else {
            throw WireError(.conflict, "customer \(id) already exists", path: "/customerId")
        }
        let agentId = try context.activeAgent(args.agentId)
        if let branchId = args.branchId, !context.state.branches.contains(branchId) {
            throw .notFound("branch", branchId, path: "/branchId")
        }
        if let birthday = args.birthday { try context.date(birthday, path: "/birthday") }
        // The key is made here and stored by the service once the state's lock is released (see
        // `Decision.newKeys`): storing it is a disk flush, which must not hold every other decision.
        let owner = CommandService.keyOwner(id)
        var key: DataKey
        var newKeys: [(owner: String, bytes: [UInt8])] = []
        do {
            if try context.keys.isDestroyed(owner) {
                throw WireError.rule(
                    "customer_forgotten", "customer id \(id) belonged to a forgotten customer and cannot be reused",
                    path: "/customerId")
            }
            if let existing = try context.keys.key(for: owner) {
                key = DataKey(owner: owner, bytes: existing)
            } else {
                key = DataKey.generate(owner: owner, entropy: context.entropy)
                newKeys.append((owner, key.bytes))
            }
            key.entropy = context.entropy
        } catch let error as WireError {
            throw error
        } catch let error as StoreError {
            throw WireError(error)  // a full disk is `unavailable`, not a forgotten customer
        } catch {
            throw WireError(.internal, "\(error)")
        }
        let event = CustomerRegistered(
            customerId: id, kind: args.kind ?? "person", name: key.seal(args.name),
            phones: (args.phones ?? []).map(key.seal),
            emails: (args.emails ?? []).map(key.seal), address: args.address.map(key.seal),
            birthday: args.birthday.map(key.seal),
            source: args.source.map {
                CustomerSource(channel: $0.channel, campaign: $0.campaign, referrer: $0.referrer.map(key.seal))
            },
            agentId: agentId, branchId: args.branchId, tags: args.tags ?? [])
        var decision = context.write(stream, id: id, [.customerRegistered(event)])
        decision.newKeys = newKeys
        return decision
    }

    /// Emits one `CustomerFieldEdited` per field whose value changes, sealed where personal.
    static func edit(_ args: Edit, _ context: DecisionContext) throws(WireError) -> Decision {
        let raw = args.raw
        _ = try context.customer(args.customerId)
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        let key = try context.key(forCustomer: args.customerId)
        if let branch = raw["branchId"]?.stringValue, !context.state.branches.contains(branch) {
            throw .notFound("branch", branch, path: "/branchId")
        }
        if let birthday = raw["birthday"]?.stringValue { try context.date(birthday, path: "/birthday") }
        if let kind = raw["kind"]?.stringValue, kind == "person",
            !(context.state.customers[args.customerId]?.contacts.isEmpty ?? true)
        {
            throw .rule(
                "contacts_require_organisation", "remove the customer's contacts before making them a person",
                path: "/kind")
        }
        let current = try CustomerFields.load(args.customerId, context: context, key: key)
        var events: [CRMEvent] = []
        for (field, _) in editableFields {
            guard let given = raw[field] else { continue }
            let old = current.fields[field]
            let new: JSON? = given == .null ? nil : given
            guard CustomerFields.normalized(old) != CustomerFields.normalized(new) else { continue }
            events.append(
                .customerFieldEdited(
                    CustomerFieldEdited(
                        customerId: args.customerId, field: field,
                        old: old.map { CustomerFields.stored(field, $0, key: key) },
                        new: new.map { CustomerFields.stored(field, $0, key: key) })))
        }
        guard !events.isEmpty else {
            throw .rule("no_change", "every field given already has that value; nothing was recorded")
        }
        return context.write(stream, id: args.customerId, events)
    }

    static func assign(_ args: Assign, _ context: DecisionContext) throws(WireError) -> Decision {
        let customer = try context.customer(args.customerId)
        let agentId = try context.activeAgent(args.agentId)
        guard customer.agentId != agentId else {
            throw .rule("no_change", "\(agentId) is already the customer's agent", path: "/agentId")
        }
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: args.customerId,
            [
                .customerAssigned(
                    CustomerAssigned(
                        customerId: args.customerId, from: customer.agentId, to: agentId, reason: "reassigned"))
            ])
    }

    static func addContact(_ args: AddContact, _ context: DecisionContext) throws(WireError) -> Decision {
        let customer = try context.customer(args.customerId)
        let contactId = context.newID(args.contactId, prefix: "p")
        guard !customer.contacts.contains(contactId) else {
            throw WireError(.conflict, "contact \(contactId) already exists", path: "/contactId")
        }
        let file = try CustomerFields.load(args.customerId, context: context, key: nil)
        guard file.kind == "organisation" else {
            throw .rule(
                "contacts_require_organisation",
                "decision makers are recorded for organisations; customer \(args.customerId) is a person")
        }
        let key = try context.key(forCustomer: args.customerId)
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: args.customerId,
            [
                .contactAdded(
                    ContactAdded(
                        customerId: args.customerId, contactId: contactId, name: key.seal(args.name), role: args.role,
                        phones: (args.phones ?? []).map(key.seal), emails: (args.emails ?? []).map(key.seal)))
            ])
    }

    static func removeContact(_ args: RemoveContact, _ context: DecisionContext) throws(WireError) -> Decision {
        let customer = try context.customer(args.customerId)
        guard customer.contacts.contains(args.contactId) else {
            throw .notFound("contact", args.contactId, path: "/contactId")
        }
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: args.customerId,
            [.contactRemoved(ContactRemoved(customerId: args.customerId, contactId: args.contactId))])
    }

    static func noteCompetitor(_ args: NoteCompetitor, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let key = try context.key(forCustomer: args.customerId)
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: args.customerId,
            [
                .competitorNoted(
                    CompetitorNoted(
                        customerId: args.customerId, competitor: args.competitor, offer: args.offer.map(key.seal),
                        price: args.price))
            ])
    }

    static func forget(_ args: Forget, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: args.customerId,
            [
                .customerForgotten(
                    CustomerForgotten(
                        customerId: args.customerId, reason: args.reason ?? "customer_request"))
            ])
    }

    static func supportContract(_ args: SupportContract, _ context: DecisionContext) throws(WireError) -> Decision {
        let customer = try context.customer(args.customerId)
        let contractId = context.newID(args.contractId, prefix: "k")
        guard !customer.contracts.contains(contractId) else {
            throw WireError(.conflict, "contract \(contractId) already exists", path: "/contractId")
        }
        if let productId = args.productId {
            guard context.state.products[productId] != nil else {
                throw .rule("product_unknown", "product \(productId) is not in the catalogue", path: "/productId")
            }
            context.relied(on: .product, productId)
        }
        let startsOn = args.startsOn ?? String(context.now.rfc3339.prefix(10))
        try context.date(startsOn, path: "/startsOn")
        try context.date(args.expiresOn, path: "/expiresOn")
        guard args.expiresOn > startsOn else {
            throw .rule("contract_dates", "a contract must expire after it starts (\(startsOn))", path: "/expiresOn")
        }
        let key = try context.key(forCustomer: args.customerId)
        let stream = AggregateKind.customer.stream(try! EntityID(args.customerId))
        return context.write(
            stream, id: contractId,
            [
                .supportContractRecorded(
                    SupportContractRecorded(
                        customerId: args.customerId, contractId: contractId, productId: args.productId,
                        startsOn: startsOn,
                        expiresOn: args.expiresOn, note: args.note.map(key.seal)))
            ])
    }
}
