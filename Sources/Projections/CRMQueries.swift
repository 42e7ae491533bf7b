import CRMEvents
import EventStore
import Foundation

/// The queries of SPEC §6, answered from the projections: JSON arguments in, JSON result out.
///
/// Reads run in one snapshot of DIR/projections. Personal values are opened with the customer's
/// key at the moment they are shown, so a forgotten customer shows as erased everywhere.
public struct CRMQueries: Sendable {
    /// The projector whose read models answer.
    public let projector: Projector
    let keys: KeyStore
    let search: SearchIndex
    let clock: @Sendable () -> Timestamp
    let startedAt: Timestamp

    /// Answers from `projector`, opening personal data with `keys`; `clock` says what "now" is.
    public init(projector: Projector, keys: KeyStore, clock: @escaping @Sendable () -> Timestamp = { .now() }) throws {
        self.projector = projector
        self.keys = keys
        self.clock = clock
        self.startedAt = clock()
        search = try SearchIndex.open(keys: keys)
    }

    /// Every query op with the schema of its arguments.
    public static let schemas: [(op: String, schema: Schema)] = [
        ("customer.get", .record(["customerId": .id, "asOf": .dateTime], required: ["customerId"])),
        ("customer.find", .record(["phone": .text(64), "email": .text(320), "text": .text(200), "agentId": .id, "tag": .text(64),
                                   "stage": .matching(.id), "limit": .integer(minimum: 1, maximum: 1000)], required: [])),
        ("customer.history", .record(["customerId": .id, "field": .text(64)], required: ["customerId"])),
        ("agent.agenda", .record(["agentId": .id, "from": .dateTime, "to": .dateTime], required: ["agentId"])),
        ("agent.view", .record(["agentId": .id], required: ["agentId"])),
        ("funnel.report", .record(["from": .dateTime, "to": .dateTime, "agentId": .id, "branchId": .id, "source": .text(64),
                                   "pipelineId": .id], required: ["from", "to"])),
        ("report.sales", .record(["from": .dateTime, "to": .dateTime,
                                  "groupBy": .list(.choice(["month", "year", "agent", "product", "branch", "source", "campaign"]), max: 4),
                                  "calendar": .choice(["gregorian", "persian"]), "timeZone": .text(64)], required: ["from", "to"])),
        ("report.quotes", .record(["from": .dateTime, "to": .dateTime], required: ["from", "to"])),
        ("report.daily", .record(["date": .date, "calendar": .choice(["gregorian", "persian"]), "timeZone": .text(64)], required: ["date"])),
        ("report.dormant", .record(["days": .integer(minimum: 1, maximum: 36_500), "agentId": .id], required: ["days"])),
        ("report.receivables", .record(["agentId": .id, "until": .dateTime], required: ["until"])),
        ("report.workload", .record(["from": .dateTime, "to": .dateTime], required: ["from", "to"])),
        ("report.targets", .record(["period": .matching(.period), "calendar": .choice(["gregorian", "persian"])], required: ["period"])),
        ("report.branches", .record(["from": .dateTime, "to": .dateTime, "stalledDays": .integer(minimum: 1, maximum: 3650)],
                                    required: ["from", "to"])),
        ("projections.rebuild", .record(["names": .list(.text(64), min: 1, max: 32)], required: [])),
        ("log.read", .record(["from": .integer(minimum: 1, maximum: nil), "limit": .integer(minimum: 1, maximum: 10_000)], required: [])),
        ("system.status", .record([:], required: [])),
    ]

    /// The queries an agent may ask, each narrowed to their own customers.
    static let agentOps: Set<String> = ["customer.get", "customer.history", "customer.find", "agent.agenda", "agent.view"]

    private static let schemaByOp = Dictionary(uniqueKeysWithValues: schemas.map { ($0.op, $0.schema) })

    /// Runs query `op` with `args`; with `agent`, as that agent: their own customers, agenda and view only.
    public func run(_ op: String, _ args: JSON, agent: String? = nil) throws(QueryError) -> JSON {
        guard let schema = CRMQueries.schemaByOp[op] else { throw QueryError("unknown_op", "unknown op \(op)") }
        // Who may ask comes before what was asked: an agent learns nothing of a query not theirs.
        if agent != nil, !CRMQueries.agentOps.contains(op) { throw QueryError("forbidden", "\(op) is for managers, admins and auditors") }
        if let violation = schema.validate(args) { throw QueryError("invalid_args", violation.description, path: violation.path) }
        let a = QueryArguments(json: args)
        if let agent, op == "agent.agenda" || op == "agent.view", a.string("agentId") != agent {
            throw QueryError("forbidden", "an agent sees only their own agenda and view", path: "/agentId")
        }
        do {
            // A read model is never behind the log it answers for: fold what is new first
            // (nothing, when the daemon's projector is following live).
            if op != "system.status", op != "log.read", op != "projections.rebuild" {
                do {
                    try projector.catchUp()
                } catch let error as StoreError where error.isTransient {
                    // Reads keep working on a full disk or a failing one: answer from what is folded so far (the
                    // log cannot grow either, so at most the last few commits are not in it yet).
                }
            }
            switch op {
            case "customer.get" where agent != nil, "customer.history" where agent != nil:
                let owner = try projector.state.read { try $0.row(CRMFacts.customers, Key.of(.text(a.string("customerId")!)))?.string("agentId") }
                guard owner == agent else { throw QueryError("forbidden", "customer \(a.string("customerId")!) is served by another agent", path: "/customerId") }
                return try run(op, args)
            case "customer.find" where agent != nil:
                var narrowed = args.objectValue ?? JSONObject()
                narrowed["agentId"] = .string(agent!)
                return try find(QueryArguments(json: .object(narrowed)))
            case "customer.get":
                let queries = CustomerQueries(projector: projector, keys: keys)
                let asOf = try a.time("asOf").map { Timestamp(microsecondsSince1970: $0) }
                return try queries.get(a.string("customerId")!, asOf: asOf).json
            case "customer.history":
                let queries = CustomerQueries(projector: projector, keys: keys)
                return .object(["changes": .array(try queries.history(a.string("customerId")!, field: a.string("field")))])
            case "customer.find": return try find(a)
            case "agent.agenda": return try agenda(a)
            case "agent.view": return try agentView(a)
            case "funnel.report": return try funnel(a)
            case "report.sales": return try sales(a)
            case "report.quotes": return try quoteConversion(a)
            case "report.daily": return try daily(a)
            case "report.dormant": return try dormant(a)
            case "report.receivables": return try receivables(a)
            case "report.workload": return try workload(a)
            case "report.targets": return try targets(a)
            case "log.read":
                let events = try projector.store.read(from: Position(a.int("from") ?? 1), limit: Int(a.int("limit") ?? 100))
                return .object(["events": .array(events.map(Envelope.json)), "next": .int(Int64((events.last?.position ?? Position(a.int("from") ?? 1) - 1) + 1))])
            case "system.status": return try status()
            case "projections.rebuild":
                let started = ContinuousClock.now
                let names = a.strings("names")
                try projector.rebuild(names)
                let seconds = (ContinuousClock.now - started).components
                return .object(["rebuilt": .array((try names ?? projector.status().map(\.name)).map(JSON.string)),
                                "head": .int(Int64(try projector.store.head().position)),
                                "seconds": .double(Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18)])
            default: return try branches(a)
            }
        } catch let error as QueryError {
            throw error
        } catch let error as StoreError {
            throw QueryError(error == .closed || error.isTransient ? "unavailable" : "internal", error.description)
        } catch {
            throw QueryError("internal", "\(error)")
        }
    }

    /// `system.status`: the log's head, each projection's checkpoint and lag, event counts, uptime.
    func status() throws -> JSON {
        let store = try projector.store.status()
        let projections = try projector.status()
        let counts = try EventCounts.counts(projector)
        var byType = JSONObject()
        for type in counts.keys.sorted() { byType[type] = .int(Int64(counts[type]!)) }
        return .object([
            "headPosition": .int(Int64(store.headPosition)), "headHash": .string(store.headHash.hex),
            "lastRecordedAt": store.lastRecordedAt.map { .string($0.rfc3339) } ?? .null,
            "streams": .int(Int64(store.streams)), "logBytes": .int(Int64(store.usedBytes)),
            "projectionBytes": .int(Int64(projector.state.usedBytes)),
            "projections": .array(projections.map { .object([
                "name": .string($0.name), "version": .int(Int64($0.version)), "checkpoint": .int(Int64($0.checkpoint)), "lag": .int(Int64($0.lag)),
            ]) }),
            "eventsByType": .object(byType),
            "uptimeSeconds": .int((clock().microsecondsSince1970 - startedAt.microsecondsSince1970) / 1_000_000),
            // Reopenings after a write LMDB could not complete (MDB_PANIC): the daemon carried
            // on, but the disk refused a write and deserves a look.
            "storageReopenings": .object(["log": .int(Int64(store.reopenings)), "projections": .int(Int64(projector.state.reopenings))]),
            // The group commit since the daemon started: how many appends shared each fsync.
            "commits": .object([
                "commits": .int(Int64(store.commits.commits)), "events": .int(Int64(store.commits.events)),
                "requests": .int(Int64(store.commits.requests)), "duplicates": .int(Int64(store.commits.duplicates)),
                "conflicts": .int(Int64(store.commits.conflicts)),
            ]),
        ])
    }

    // MARK: Helpers

    var now: Int64 { clock().microsecondsSince1970 }

    func read<T>(_ body: (KeyValueTransaction) throws -> T) throws -> T {
        try projector.state.read(body)
    }

    func key(_ customerId: String) -> DataKey? {
        let owner = DataKey.owner(ofCustomer: customerId)
        return (try? keys.key(for: owner))?.map { DataKey(owner: owner, bytes: $0) }
    }

    /// A customer as lists show one: id, name (opened), agent, phones.
    func summary(_ row: JSONObject) -> JSON {
        let customerId = row.string("customerId") ?? ""
        let key = row["forgotten"] == true ? nil : key(customerId)
        return .object([
            "customerId": .string(customerId), "name": PersonalValue.open(row["name"], with: key),
            "phones": PersonalValue.open(row["phones"], with: key), "agentId": row["agentId"] ?? .null,
            "erased": .bool(key == nil),
        ])
    }

    static func time(_ micros: Int64) -> JSON { .string(Timestamp(microsecondsSince1970: micros).rfc3339) }

    // MARK: Customers

    func find(_ a: QueryArguments) throws -> JSON {
        try read { txn in
            var candidates: Set<String>?
            func narrow(_ found: Set<String>) { candidates = candidates.map { $0.intersection(found) } ?? found }
            if let phone = a.string("phone") { narrow(try search.customers(.phones, matching: phone, txn)) }
            if let email = a.string("email") { narrow(try search.customers(.emails, matching: email, txn)) }
            if let text = a.string("text") { narrow(try search.customers(.text, matching: text, txn)) }
            if let agent = a.string("agentId") {
                var found = Set<String>()
                try txn.scan(CRMFacts.customersByAgent, prefix: Key.of(.text(agent))) { key, _ in
                    found.insert(String(decoding: key.dropFirst(agent.utf8.count + 1).dropLast(), as: UTF8.self))
                    return true
                }
                narrow(found)
            }
            if let tag = a.string("tag") {
                let prefix = Key.of(.text(SearchText.normalize(tag)))
                var found = Set<String>()
                try txn.scan(CRMFacts.customersByTag, prefix: prefix) { key, _ in
                    found.insert(String(decoding: key.dropFirst(prefix.count).dropLast(), as: UTF8.self))
                    return true
                }
                narrow(found)
            }
            if let stage = a.string("stage") {
                narrow(Set(try txn.rows(CRMFacts.deals).compactMap { $0.row.string("stage") == stage ? $0.row.string("customerId") : nil }))
            }
            guard let candidates else {
                throw QueryError("invalid_args", "give at least one of phone, email, text, agentId, tag or stage")
            }
            let limit = Int(a.int("limit") ?? 100)
            let rows = try candidates.sorted().prefix(limit).compactMap { try txn.row(CRMFacts.customers, Key.of(.text($0))) }
            return .object(["customers": .array(rows.map(summary)), "total": .int(Int64(candidates.count))])
        }
    }
}
