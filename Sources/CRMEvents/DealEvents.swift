import JSONKit
/// The stages a pipeline has when none was defined: `pipeline.define` may replace them.
public let defaultPipelineStages = ["lead", "qualified", "proposal", "negotiation", "won", "lost"]

/// A pipeline's stage list was defined or redefined.
public struct PipelineDefined: EventPayload {
    public static let eventType = "PipelineDefined"
    public static let schema = Schema.record(
        [
            "pipelineId": .id, "name": .text(128), "stages": .list(.matching(.id), min: 3, max: 32),
        ], required: ["pipelineId", "stages"])
    public var pipelineId: String
    public var name: String?
    /// Stages in order; `won` and `lost` are always among them and close a deal.
    public var stages: [String]

    /// Describes a pipeline.
    public init(pipelineId: String, name: String?, stages: [String]) {
        self.pipelineId = pipelineId
        self.name = name
        self.stages = stages
    }
}

/// An opportunity entered a pipeline.
public struct DealOpened: EventPayload {
    public static let eventType = "DealOpened"
    public static let schema = Schema.record(
        [
            "dealId": .id, "customerId": .id, "agentId": .id, "pipelineId": .id, "stage": .matching(.id),
            "title": .text(200), "value": .money, "expectedCloseAt": .dateTime,
        ], required: ["dealId", "customerId", "agentId", "pipelineId", "stage"])
    public var dealId: String
    public var customerId: String
    public var agentId: String
    public var pipelineId: String
    public var stage: String
    public var title: String?
    public var value: Money?
    public var expectedCloseAt: String?

    /// Describes a new deal.
    public init(
        dealId: String, customerId: String, agentId: String, pipelineId: String, stage: String, title: String?,
        value: Money?, expectedCloseAt: String?
    ) {
        self.dealId = dealId
        self.customerId = customerId
        self.agentId = agentId
        self.pipelineId = pipelineId
        self.stage = stage
        self.title = title
        self.value = value
        self.expectedCloseAt = expectedCloseAt
    }
}

/// A deal moved from one open stage to another.
public struct DealMoved: EventPayload {
    public static let eventType = "DealMoved"
    public static let schema = Schema.record(
        [
            "dealId": .id, "customerId": .id, "from": .matching(.id), "to": .matching(.id),
        ], required: ["dealId", "customerId", "from", "to"])
    public var dealId: String
    public var customerId: String
    public var from: String
    public var to: String

    /// Describes a move.
    public init(dealId: String, customerId: String, from: String, to: String) {
        self.dealId = dealId
        self.customerId = customerId
        self.from = from
        self.to = to
    }
}

/// A deal was won.
public struct DealWon: EventPayload {
    public static let eventType = "DealWon"
    public static let schema = Schema.record(
        [
            "dealId": .id, "customerId": .id, "from": .matching(.id), "value": .money, "invoiceId": .id,
        ], required: ["dealId", "customerId", "from"])
    public var dealId: String
    public var customerId: String
    /// The stage it was won from.
    public var from: String
    public var value: Money?
    public var invoiceId: String?

    /// Describes a win.
    public init(dealId: String, customerId: String, from: String, value: Money?, invoiceId: String?) {
        self.dealId = dealId
        self.customerId = customerId
        self.from = from
        self.value = value
        self.invoiceId = invoiceId
    }
}

/// A deal was lost, with the reason (the funnel counts losses per stage and reason).
public struct DealLost: EventPayload {
    public static let eventType = "DealLost"
    /// Why deals are lost, as a manager groups them.
    public static let reasons = ["price", "competitor", "no_budget", "no_need", "no_response", "timing", "other"]
    public static let schema = Schema.record(
        [
            "dealId": .id, "customerId": .id, "from": .matching(.id), "reason": .choice(reasons),
            "competitor": .text(200), "note": .sealed,
        ], required: ["dealId", "customerId", "from", "reason"])
    public var dealId: String
    public var customerId: String
    /// The stage it was lost from.
    public var from: String
    public var reason: String
    public var competitor: String?
    public var note: Sealed?

    /// Describes a loss.
    public init(dealId: String, customerId: String, from: String, reason: String, competitor: String?, note: Sealed?) {
        self.dealId = dealId
        self.customerId = customerId
        self.from = from
        self.reason = reason
        self.competitor = competitor
        self.note = note
    }
}
