import Door
import EventStore
import JSONKit

/// Every query crmd answers, by op name: the read side's twin of the command catalogue.
public enum QueryCatalogue {
    /// The definitions, in the order docs/protocol.md lists them.
    public static let definitions: [QueryDefinition] = customers + desks + board + reports + log

    static let ops: [String: QueryDefinition] = Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// The definition of `op`, or nil when it is not a query.
    public static func definition(_ op: String) -> QueryDefinition? { ops[op] }

    /// The op names, sorted.
    public static var names: [String] { ops.keys.sorted() }

    /// `log.subscribe`: raw events from a position, then live. The connection streams it (it has
    /// no handler here), and it is admitted like the raw log's other query.
    public static let subscription = (name: "log.subscribe", audience: Audience.companyReading)

    /// Every query op with the schema of its arguments (what `crmd schemas` writes).
    public static var schemas: [(op: String, schema: Schema)] { definitions.map { ($0.name, $0.schema) } }

    static let calendar = Schema.choice(["gregorian", "persian"])

    static let customers: [QueryDefinition] = [
        QueryDefinition(
            "customer.get", .customerReading(.customer(at: "/customerId")), CustomerGetArgs.self,
            .record(
                [
                    "customerId": .id, "asOf": .anyOf([.dateTime, .date]), "at": .anyOf([.dateTime, .date]),
                    "changes": .boolean,
                ], required: ["customerId"])
        ) { a, context in
            let asOf = try a.asOf.map { text throws(WireError) in try instant(text, "/asOf") }
            let at = try a.at.map { text throws(WireError) in try instant(text, "/at") }
            return try context.queries.customerQueries.answer(a.customerId, asOf: asOf, at: at, changes: a.changes ?? false)
        },
        QueryDefinition(
            "customer.find", .customerReading(.none), FindArgs.self,
            .record(
                [
                    "phone": .text(64), "email": .text(320), "text": .text(200), "agentId": .id, "tag": .text(64),
                    "stage": .matching(.id), "limit": .integer(minimum: 1, maximum: 1000),
                ], required: [])
        ) { a, context in
            var a = a
            if case .ownCustomers(let agent) = context.scope { a.agentId = agent }
            return try context.queries.find(a)
        },
        QueryDefinition(
            "customer.lookup", .customerReading(.none), LookupArgs.self,
            .record(
                ["phones": .list(.text(64), max: 2000), "emails": .list(.text(320), max: 2000)], required: [])
        ) { a, context in
            var agent: String?
            if case .ownCustomers(let own) = context.scope { agent = own }
            return try context.queries.lookup(a, agent: agent)
        },
        QueryDefinition(
            "customer.history", .customerReading(.customer(at: "/customerId")), CustomerHistoryArgs.self,
            .record(["customerId": .id, "field": .text(64)], required: ["customerId"])
        ) { a, context in
            .object(["changes": .array(try context.queries.customerQueries.history(a.customerId, field: a.field))])
        },
    ]

    static let desks: [QueryDefinition] = [
        QueryDefinition(
            "agent.agenda", .deskReading, AgendaArgs.self,
            .record(["agentId": .id, "from": .dateTime, "to": .dateTime], required: ["agentId"])
        ) { a, context in
            try context.queries.agenda(a)
        },
        QueryDefinition(
            "agent.view", .deskReading, AgentViewArgs.self, .record(["agentId": .id], required: ["agentId"])
        ) { a, context in
            try context.queries.agentView(a)
        },
    ]

    static let board: [QueryDefinition] = [
        QueryDefinition(
            "product.list", .customerReading(.none), ProductListArgs.self,
            .record(["includeRetired": .boolean], required: [])
        ) { a, context in try context.queries.products(a) },
        QueryDefinition(
            "deal.board", .customerReading(.none), BoardArgs.self,
            .record(
                [
                    "pipelineId": .id, "agentId": .id, "branchId": .id,
                    "closedDays": .integer(minimum: 0, maximum: 3650), "limit": .integer(minimum: 1, maximum: 1000),
                ], required: [])
        ) { a, context in
            var agent = a.agentId
            if case .ownCustomers(let own) = context.scope { agent = own }
            return try context.queries.board(a, agent: agent)
        },
    ]

    static let reports: [QueryDefinition] = [
        QueryDefinition(
            "funnel.report", .companyReading, FunnelArgs.self,
            .record(
                [
                    "from": .dateTime, "to": .dateTime, "agentId": .id, "branchId": .id, "source": .text(64),
                    "pipelineId": .id,
                ], required: ["from", "to"])
        ) { a, context in try context.queries.funnel(a) },
        QueryDefinition(
            "report.sales", .companyReading, SalesArgs.self,
            .record(
                [
                    "from": .dateTime, "to": .dateTime,
                    "groupBy": .list(
                        .choice(["month", "year", "agent", "product", "branch", "source", "campaign"]), max: 4),
                    "calendar": calendar, "timeZone": .text(64),
                ], required: ["from", "to"])
        ) { a, context in try context.queries.sales(a) },
        QueryDefinition(
            "report.quotes", .companyReading, PeriodArgs.self,
            .record(["from": .dateTime, "to": .dateTime], required: ["from", "to"])
        ) { a, context in
            try context.queries.quoteConversion(a)
        },
        QueryDefinition(
            "report.daily", .companyReading, DailyArgs.self,
            .record(["date": .date, "calendar": calendar, "timeZone": .text(64)], required: ["date"])
        ) { a, context in
            try context.queries.daily(a)
        },
        QueryDefinition(
            "report.dormant", .companyReading, DormantArgs.self,
            .record(["days": .integer(minimum: 1, maximum: 36_500), "agentId": .id], required: ["days"])
        ) { a, context in
            try context.queries.dormant(a)
        },
        QueryDefinition(
            "report.receivables", .companyReading, ReceivablesArgs.self,
            .record(["agentId": .id, "until": .dateTime], required: ["until"])
        ) { a, context in
            try context.queries.receivables(a)
        },
        QueryDefinition(
            "report.workload", .companyReading, PeriodArgs.self,
            .record(["from": .dateTime, "to": .dateTime], required: ["from", "to"])
        ) { a, context in
            try context.queries.workload(a)
        },
        QueryDefinition(
            "report.targets", .companyReading, TargetsArgs.self,
            .record(["period": .matching(.period), "calendar": calendar], required: ["period"])
        ) { a, context in
            try context.queries.targets(a)
        },
        QueryDefinition(
            "report.branches", .companyReading, BranchesArgs.self,
            .record(
                [
                    "from": .dateTime, "to": .dateTime, "stalledDays": .integer(minimum: 1, maximum: 3650),
                ], required: ["from", "to"])
        ) { a, context in try context.queries.branches(a) },
    ]

    static let log: [QueryDefinition] = [
        QueryDefinition(
            "projections.rebuild", .maintenance, RebuildArgs.self,
            .record(["names": .list(.text(64), min: 1, max: 32)], required: []), readsModels: false
        ) { a, context in
            try context.queries.rebuild(a)
        },
        QueryDefinition(
            "log.read", .companyReading, LogReadArgs.self,
            .record(
                [
                    "from": .integer(minimum: 1, maximum: nil), "limit": .integer(minimum: 1, maximum: 10_000),
                    "stream": .text(200), "actor": .text(64), "type": .text(64),
                    "since": .anyOf([.dateTime, .date]), "until": .anyOf([.dateTime, .date]),
                ], required: []), readsModels: false
        ) { a, context in try context.queries.readLog(a) },
        QueryDefinition(
            "log.verify", .companyReading, NoArgs.self, .record([:], required: []), readsModels: false
        ) { _, context in try context.queries.verifyLog(by: context.caller) },
        QueryDefinition("system.status", .companyReading, NoArgs.self, .record([:], required: []), readsModels: false) {
            _, context in
            try context.queries.status()
        },
    ]
}

/// `customer.get`: a customer now; as the log knew it at `asOf` (recorded time); as things stood
/// at `at` (business time) by everything known; or both.
struct CustomerGetArgs: Decodable, Sendable {
    var customerId: String
    var asOf: String?
    var at: String?
    /// Also list the field changes behind the file (as `customer.history` does).
    var changes: Bool?
}

/// `customer.history`: a customer's changes, of one field or all.
struct CustomerHistoryArgs: Decodable, Sendable {
    var customerId: String
    var field: String?
}

/// `customer.lookup`: which customers have each of many phone numbers and emails (an import's
/// duplicate check, one request for a thousand rows).
struct LookupArgs: Decodable, Sendable {
    var phones: [String]?
    var emails: [String]?
}

/// `customer.find`: what a caller knows of a customer; every criterion given must match.
struct FindArgs: Decodable, Sendable {
    var phone: String?
    var email: String?
    var text: String?
    var agentId: String?
    var tag: String?
    var stage: String?
    var limit: Int64?
}

/// `agent.agenda`: an agent's desk between two times (default: the next 7 days).
struct AgendaArgs: Decodable, Sendable {
    var agentId: String
    var from: String?
    var to: String?
}

/// `agent.view`: an agent's customers, deals, quotes and money due.
struct AgentViewArgs: Decodable, Sendable {
    var agentId: String
}

/// A report over business times in [from, to).
struct PeriodArgs: Decodable, Sendable {
    var from: String
    var to: String
}

/// `funnel.report`: a pipeline's stages over a period, optionally for one agent, branch or source.
struct FunnelArgs: Decodable, Sendable {
    var from: String
    var to: String
    var agentId: String?
    var branchId: String?
    var source: String?
    var pipelineId: String?
}

/// `report.sales`: sales over a period, grouped by calendar and dimensions.
struct SalesArgs: Decodable, Sendable {
    var from: String
    var to: String
    var groupBy: [String]?
    var calendar: String?
    var timeZone: String?
}

/// `report.daily`: one day's calls, orders, quotes and deferrals.
struct DailyArgs: Decodable, Sendable {
    var date: String
    var calendar: String?
    var timeZone: String?
}

/// `report.dormant`: customers without contact for `days`.
struct DormantArgs: Decodable, Sendable {
    var days: Int64
    var agentId: String?
}

/// `report.receivables`: money due by `until`, for one agent's customers or all.
struct ReceivablesArgs: Decodable, Sendable {
    var agentId: String?
    var until: String
}

/// `report.targets`: progress against the targets of a period.
struct TargetsArgs: Decodable, Sendable {
    var period: String
    var calendar: String?
}

/// `report.branches`: sales, stalled deals and expected receipts per branch.
struct BranchesArgs: Decodable, Sendable {
    var from: String
    var to: String
    var stalledDays: Int64?
}

/// `projections.rebuild`: the projections to fold again (default: all).
struct RebuildArgs: Decodable, Sendable {
    var names: [String]?
}

/// `log.read`: a page of raw events, optionally of one stream, actor or type, recorded in
/// [since, until] (a date as `until` means its whole day).
struct LogReadArgs: Decodable, Sendable {
    var from: Int64?
    var limit: Int64?
    var stream: String?
    var actor: String?
    var type: String?
    var since: String?
    var until: String?
}
