import JSONKit
/// A reminder was put on an agent's agenda.
public struct FollowupScheduled: EventPayload {
    public static let eventType = "FollowupScheduled"
    /// What the agent is to do.
    public static let kinds = ["call", "meeting", "email", "sms", "visit", "quote", "payment", "other"]
    public static let schema = Schema.record(
        [
            "followupId": .id, "customerId": .id, "agentId": .id, "due": .dateTime, "kind": .choice(kinds),
            "note": .sealed, "dealId": .id, "quoteId": .id, "invoiceId": .id,
        ], required: ["followupId", "customerId", "agentId", "due", "kind"])
    public var followupId: String
    public var customerId: String
    public var agentId: String
    public var due: String
    public var kind: String
    public var note: Sealed?
    public var dealId: String?
    public var quoteId: String?
    public var invoiceId: String?

    /// Describes a reminder.
    public init(
        followupId: String, customerId: String, agentId: String, due: String, kind: String, note: Sealed?,
        dealId: String?, quoteId: String?, invoiceId: String?
    ) {
        self.followupId = followupId
        self.customerId = customerId
        self.agentId = agentId
        self.due = due
        self.kind = kind
        self.note = note
        self.dealId = dealId
        self.quoteId = quoteId
        self.invoiceId = invoiceId
    }
}

/// A follow-up was done.
public struct FollowupCompleted: EventPayload {
    public static let eventType = "FollowupCompleted"
    public static let schema = Schema.record(
        [
            "followupId": .id, "customerId": .id, "agentId": .id, "outcome": .text(64), "note": .sealed,
        ], required: ["followupId", "customerId", "agentId"])
    public var followupId: String
    public var customerId: String
    /// Who did it.
    public var agentId: String
    public var outcome: String?
    public var note: Sealed?

    /// Describes a completion.
    public init(followupId: String, customerId: String, agentId: String, outcome: String?, note: Sealed?) {
        self.followupId = followupId
        self.customerId = customerId
        self.agentId = agentId
        self.outcome = outcome
        self.note = note
    }
}

/// A follow-up was put off to a new time; it comes back as a reminder then.
public struct FollowupDeferred: EventPayload {
    public static let eventType = "FollowupDeferred"
    public static let schema = Schema.record(
        [
            "followupId": .id, "customerId": .id, "from": .dateTime, "to": .dateTime, "reason": .sealed,
        ], required: ["followupId", "customerId", "from", "to"])
    public var followupId: String
    public var customerId: String
    public var from: String
    public var to: String
    public var reason: Sealed?

    /// Describes a deferral.
    public init(followupId: String, customerId: String, from: String, to: String, reason: Sealed?) {
        self.followupId = followupId
        self.customerId = customerId
        self.from = from
        self.to = to
        self.reason = reason
    }
}

/// A follow-up was called off.
public struct FollowupCancelled: EventPayload {
    public static let eventType = "FollowupCancelled"
    public static let schema = Schema.record(
        ["followupId": .id, "customerId": .id, "reason": .sealed],
        required: ["followupId", "customerId"])
    public var followupId: String
    public var customerId: String
    public var reason: Sealed?

    /// Describes a cancellation.
    public init(followupId: String, customerId: String, reason: Sealed?) {
        self.followupId = followupId
        self.customerId = customerId
        self.reason = reason
    }
}
