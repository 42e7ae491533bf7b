import JSONKit
/// Where a customer came from: the answer to "how did this caller find us" (MISSION question 2).
public struct CustomerSource: Codable, Hashable, Sendable {
    /// The channel, e.g. `website`, `instagram`, `exhibition`, `referral`.
    public var channel: String
    /// The campaign, when the channel ran one.
    public var campaign: String?
    /// Who referred them; a person's name, so it is sealed.
    public var referrer: Sealed?

    /// Describes a source.
    public init(channel: String, campaign: String? = nil, referrer: Sealed? = nil) {
        self.channel = channel
        self.campaign = campaign
        self.referrer = referrer
    }

    static let schema = Schema.record(
        [
            "channel": .text(64), "campaign": .text(128), "referrer": .sealed,
        ], required: ["channel"])
}

/// A person or an organisation became a customer.
public struct CustomerRegistered: EventPayload {
    public static let eventType = "CustomerRegistered"
    public static let schema = Schema.record(
        [
            "customerId": .id, "kind": .choice(["person", "organisation"]), "name": .sealed,
            "phones": .list(.sealed, max: 16), "emails": .list(.sealed, max: 16), "address": .sealed,
            "birthday": .sealed,
            "source": CustomerSource.schema, "agentId": .id, "branchId": .id, "tags": .list(.text(64), max: 32),
        ], required: ["customerId", "kind", "name", "phones", "emails", "agentId", "tags"])

    public var customerId: String
    public var kind: String
    public var name: Sealed
    public var phones: [Sealed]
    public var emails: [Sealed]
    public var address: Sealed?
    public var birthday: Sealed?
    public var source: CustomerSource?
    public var agentId: String
    public var branchId: String?
    public var tags: [String]

    /// Describes a registration.
    public init(
        customerId: String, kind: String, name: Sealed, phones: [Sealed], emails: [Sealed], address: Sealed?,
        birthday: Sealed?, source: CustomerSource?, agentId: String, branchId: String?, tags: [String]
    ) {
        self.customerId = customerId
        self.kind = kind
        self.name = name
        self.phones = phones
        self.emails = emails
        self.address = address
        self.birthday = birthday
        self.source = source
        self.agentId = agentId
        self.branchId = branchId
        self.tags = tags
    }
}

/// One field of a customer file changed; personal values are sealed, others plain JSON.
public struct CustomerFieldEdited: EventPayload {
    public static let eventType = "CustomerFieldEdited"
    /// The fields `customer.edit` can change, and whether each holds personal data.
    public static let fields: [String: Bool] = [
        "kind": false, "name": true, "phones": true, "emails": true, "address": true, "birthday": true,
        "source": false, "branchId": false, "tags": false,
    ]
    public static let schema = Schema.record(
        [
            "customerId": .id, "field": .choice(fields.keys.sorted()), "old": .any, "new": .any,
        ], required: ["customerId", "field"])

    public var customerId: String
    public var field: String
    /// The value before; absent when the field was empty. A `Sealed` JSON text for personal fields.
    public var old: JSON?
    /// The value after; absent when the field was cleared.
    public var new: JSON?

    /// Describes one field's change.
    public init(customerId: String, field: String, old: JSON?, new: JSON?) {
        self.customerId = customerId
        self.field = field
        self.old = old
        self.new = new
    }
}

/// A customer got a new responsible agent.
public struct CustomerAssigned: EventPayload {
    public static let eventType = "CustomerAssigned"
    public static let schema = Schema.record(
        [
            "customerId": .id, "from": .id, "to": .id, "reason": .choice(["reassigned", "agent_left"]),
        ], required: ["customerId", "from", "to", "reason"])

    public var customerId: String
    public var from: String
    public var to: String
    /// `reassigned` by a person, or `agent_left` when the previous agent left the company.
    public var reason: String

    /// Describes a reassignment.
    public init(customerId: String, from: String, to: String, reason: String) {
        self.customerId = customerId
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// A decision maker in an organisation was recorded.
public struct ContactAdded: EventPayload {
    public static let eventType = "ContactAdded"
    public static let schema = Schema.record(
        [
            "customerId": .id, "contactId": .id, "name": .sealed, "role": .text(128),
            "phones": .list(.sealed, max: 8), "emails": .list(.sealed, max: 8),
        ], required: ["customerId", "contactId", "name", "phones", "emails"])

    public var customerId: String
    public var contactId: String
    public var name: Sealed
    public var role: String?
    public var phones: [Sealed]
    public var emails: [Sealed]

    /// Describes a contact.
    public init(customerId: String, contactId: String, name: Sealed, role: String?, phones: [Sealed], emails: [Sealed])
    {
        self.customerId = customerId
        self.contactId = contactId
        self.name = name
        self.role = role
        self.phones = phones
        self.emails = emails
    }
}

/// A decision maker no longer speaks for the organisation.
public struct ContactRemoved: EventPayload {
    public static let eventType = "ContactRemoved"
    public static let schema = Schema.record(
        ["customerId": .id, "contactId": .id], required: ["customerId", "contactId"])

    public var customerId: String
    public var contactId: String

    /// Describes a removal.
    public init(customerId: String, contactId: String) {
        self.customerId = customerId
        self.contactId = contactId
    }
}

/// A competing vendor courts the customer.
public struct CompetitorNoted: EventPayload {
    public static let eventType = "CompetitorNoted"
    public static let schema = Schema.record(
        [
            "customerId": .id, "competitor": .text(200), "offer": .sealed, "price": .money,
        ], required: ["customerId", "competitor"])

    public var customerId: String
    public var competitor: String
    /// What they offer, in the agent's words.
    public var offer: Sealed?
    /// Their price, when known.
    public var price: Money?

    /// Describes a competitor.
    public init(customerId: String, competitor: String, offer: Sealed?, price: Money?) {
        self.customerId = customerId
        self.competitor = competitor
        self.offer = offer
        self.price = price
    }
}

/// The customer's data key was destroyed: their personal data is unreadable from now on.
public struct CustomerForgotten: EventPayload {
    public static let eventType = "CustomerForgotten"
    public static let schema = Schema.record(
        [
            "customerId": .id, "reason": .choice(["customer_request", "legal_obligation", "other"]),
        ], required: ["customerId", "reason"])

    public var customerId: String
    public var reason: String

    /// Describes an erasure.
    public init(customerId: String, reason: String) {
        self.customerId = customerId
        self.reason = reason
    }
}

/// A support contract with an expiry date (the agenda warns before it expires).
public struct SupportContractRecorded: EventPayload {
    public static let eventType = "SupportContractRecorded"
    public static let schema = Schema.record(
        [
            "customerId": .id, "contractId": .id, "productId": .id, "startsOn": .date, "expiresOn": .date,
            "note": .sealed,
        ], required: ["customerId", "contractId", "startsOn", "expiresOn"])

    public var customerId: String
    public var contractId: String
    public var productId: String?
    public var startsOn: String
    public var expiresOn: String
    public var note: Sealed?

    /// Describes a contract.
    public init(
        customerId: String, contractId: String, productId: String?, startsOn: String, expiresOn: String, note: Sealed?
    ) {
        self.customerId = customerId
        self.contractId = contractId
        self.productId = productId
        self.startsOn = startsOn
        self.expiresOn = expiresOn
        self.note = note
    }
}
