import CRMEvents
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue

/// The read side's service: the queries of docs/protocol.md (QueryCatalogue), answered from the
/// projections: JSON arguments in, JSON result out.
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
    /// The shipper's state for `system.status` (`crmd serve --ship-to`); nil when not shipping.
    public var shipping: (@Sendable () -> JSON)?

    /// Answers from `projector`, opening personal data with `keys`; `clock` says what "now" is.
    public init(projector: Projector, keys: KeyStore, clock: @escaping @Sendable () -> Timestamp = { .now() }) throws {
        self.projector = projector
        self.keys = keys
        self.clock = clock
        self.startedAt = clock()
        search = try SearchIndex.open(keys: keys)
    }

    /// Runs query `op` with `args` for a caller whose reach is `scope`: the access policy has
    /// admitted the caller already (the daemon asks it once, at the door).
    public func run(
        _ op: String, _ args: JSON, scope: AccessScope = .everything, caller: String = "admin"
    ) throws(WireError) -> JSON {
        guard let definition = QueryCatalogue.definition(op) else { throw WireError(.unknownOp, "unknown op \(op)") }
        if let violation = definition.schema.validate(args) {
            throw WireError(.invalidArgs, violation.description, path: violation.path)
        }
        do {
            if definition.readsModels { try catchUp() }
            return try definition.answer(args, QueryContext(queries: self, scope: scope, caller: caller))
        } catch {
            throw WireError(wrapping: error)
        }
    }

    /// A read model is never behind the log it answers for: folds what is new first (nothing,
    /// when the daemon's projector is following live).
    private func catchUp() throws {
        do {
            try projector.catchUp()
        } catch let error as StoreError where error.isTransient {
            // Reads keep working on a full disk or a failing one: answer from what is folded so far (the
            // log cannot grow either, so at most the last few commits are not in it yet).
        }
    }

    /// The customer file and history queries over the same projector and keys.
    var customerQueries: CustomerQueries { CustomerQueries(projector: projector, keys: keys) }

    /// `log.read`: a page of raw events from a position, and the position to read next; narrowed
    /// to one stream, actor or event type and to a window of recorded time when asked.
    ///
    /// A filtered page reads at most `scanBudget` events, so an auditor's rare filter over a
    /// long log answers in bounded time: `next` says where the following page starts reading.
    func readLog(_ a: LogReadArgs) throws -> JSON {
        let store = projector.store
        let limit = Int(a.limit ?? 100)
        var from = Position(a.from ?? 1)
        // The head when the page began: events appended meanwhile are the next page's.
        var to = try store.head().position
        if let since = a.since {
            guard let start = Timestamp(rfc3339: since) else { throw WireError.invalid("/since", "is not a valid time or date") }
            // The first event recorded at or after `since`: after the last one recorded before it.
            from = max(from, try store.position(asOf: Timestamp(microsecondsSince1970: start.microsecondsSince1970 - 1)) + 1)
        }
        if let until = a.until { to = min(to, try store.position(asOf: try instant(until, "/until"))) }
        let filtered = a.stream != nil || a.actor != nil || a.type != nil
        func wanted(_ event: RecordedEvent) -> Bool {
            (a.actor.map { event.actor.principal == $0 } ?? true) && (a.type.map { event.type == $0 } ?? true)
        }
        var events: [RecordedEvent] = []
        var next = from
        var complete = true
        if let stream = a.stream {
            // The stream's own index: only its events are read.
            for event in try store.readStream(StreamName(stream), limit: Int.max) where event.position >= from {
                guard event.position <= to else { break }
                next = event.position + 1
                guard wanted(event) else { continue }
                events.append(event)
                if events.count == limit {
                    complete = false
                    break
                }
            }
        } else if from <= to {
            var scanned = 0
            try store.scan(from: from, to: to, batchSize: min(limit, 1024)) { event in
                scanned += 1
                next = event.position + 1
                if wanted(event) { events.append(event) }
                complete = events.count < limit && (!filtered || scanned < CRMQueries.scanBudget)
                return complete
            }
        }
        if complete { next = max(next, to + 1) }
        return .object(["events": .array(events.map(Envelope.json)), "next": .int(Int64(next))])
    }

    /// `log.verify`: walks the hash chain and every index now, records the outcome beside the log
    /// (what `system.status` and the audit page show as the last verify) and answers it.
    func verifyLog(by caller: String) throws -> JSON {
        let store = projector.store
        let record = VerifyRecord(try store.verify(), by: caller, finishedAt: clock())
        // A read-only copy (a replica, a mounted backup) is still verified; it just keeps no record.
        try? record.save(in: store.directory)
        return CRMQueries.json(record)
    }

    /// A verify record as responses show it.
    static func json(_ record: VerifyRecord) -> JSON {
        .object([
            "finishedAt": .string(record.finishedAt), "ok": .bool(record.ok), "events": .int(Int64(record.events)),
            "headPosition": .int(Int64(record.headPosition)), "headHash": .string(record.headHash),
            "problem": record.problem.map(JSON.string) ?? .null, "by": .string(record.by),
        ])
    }

    /// How many events one filtered `log.read` page reads at most.
    static let scanBudget = 100_000

    /// `projections.rebuild`: folds the named projections (default: all) again from the log.
    func rebuild(_ a: RebuildArgs) throws -> JSON {
        let started = ContinuousClock.now
        try projector.rebuild(a.names)
        let seconds = (ContinuousClock.now - started).components
        return .object([
            "rebuilt": .array((try a.names ?? projector.status().map(\.name)).map(JSON.string)),
            "head": .int(Int64(try projector.store.head().position)),
            "seconds": .double(Double(seconds.seconds) + Double(seconds.attoseconds) / 1e18),
        ])
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
            "projections": .array(
                projections.map {
                    .object([
                        "name": .string($0.name), "version": .int(Int64($0.version)),
                        "checkpoint": .int(Int64($0.checkpoint)), "lag": .int(Int64($0.lag)),
                    ])
                }),
            "eventsByType": .object(byType),
            "lastVerify": VerifyRecord.load(from: projector.store.directory).map(CRMQueries.json) ?? .null,
            "ship": shipping?() ?? .null,
            "uptimeSeconds": .int((clock().microsecondsSince1970 - startedAt.microsecondsSince1970) / 1_000_000),
            // Reopenings after a write LMDB could not complete (MDB_PANIC): the daemon carried
            // on, but the disk refused a write and deserves a look.
            "storageReopenings": .object([
                "log": .int(Int64(store.reopenings)), "projections": .int(Int64(projector.state.reopenings)),
            ]),
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
    func summary(_ row: CustomerRow) -> JSONObject {
        let key = row.forgotten ? nil : key(row.customerId)
        return [
            "customerId": .string(row.customerId), "name": SealedValue.open(row.name, with: key),
            "phones": SealedValue.open(row.phones, with: key), "agentId": .string(row.agentId),
            "erased": .bool(key == nil),
        ]
    }

    static func time(_ micros: Int64) -> JSON { .string(Timestamp(microsecondsSince1970: micros).rfc3339) }

    // MARK: Customers

    /// The customers of each phone number and email given (compared as search compares them),
    /// only those with any; an agent sees only their own customers.
    func lookup(_ a: LookupArgs, agent: String?) throws -> JSON {
        try read { txn in
            func owned(_ ids: Set<String>) throws -> [JSON] {
                try ids.sorted().compactMap { id in
                    guard let agent else { return .string(id) }
                    return try txn.row(CRMFacts.customers, Key.of(.text(id)))?.agentId == agent ? .string(id) : nil
                }
            }
            var phones = JSONObject()
            for phone in a.phones ?? [] where phones[phone] == nil {
                let ids = try owned(try search.customers(.phones, matching: phone, txn))
                if !ids.isEmpty { phones[phone] = .array(ids) }
            }
            var emails = JSONObject()
            for email in a.emails ?? [] where emails[email] == nil {
                let ids = try owned(try search.customers(.emails, matching: email, txn))
                if !ids.isEmpty { emails[email] = .array(ids) }
            }
            return .object(["phones": .object(phones), "emails": .object(emails)])
        }
    }

    func find(_ a: FindArgs) throws -> JSON {
        try read { txn in
            var candidates: Set<String>?
            func narrow(_ found: Set<String>) { candidates = candidates.map { $0.intersection(found) } ?? found }
            if let phone = a.phone { narrow(try search.customers(.phones, matching: phone, txn)) }
            if let email = a.email { narrow(try search.customers(.emails, matching: email, txn)) }
            if let text = a.text { narrow(try search.customers(.text, matching: text, txn)) }
            if let agent = a.agentId {
                var found = Set<String>()
                try txn.scan(CRMFacts.customersByAgent, prefix: Key.of(.text(agent))) { key, _ in
                    found.insert(String(decoding: key.dropFirst(agent.utf8.count + 1).dropLast(), as: UTF8.self))
                    return true
                }
                narrow(found)
            }
            if let tag = a.tag {
                let prefix = Key.of(.text(SearchText.normalize(tag)))
                var found = Set<String>()
                try txn.scan(CRMFacts.customersByTag, prefix: prefix) { key, _ in
                    found.insert(String(decoding: key.dropFirst(prefix.count).dropLast(), as: UTF8.self))
                    return true
                }
                narrow(found)
            }
            if let stage = a.stage {
                narrow(Set(try txn.rows(CRMFacts.deals).compactMap { $0.row.stage == stage ? $0.row.customerId : nil }))
            }
            guard let candidates else {
                throw WireError(.invalidArgs, "give at least one of phone, email, text, agentId, tag or stage")
            }
            let limit = Int(a.limit ?? 100)
            let rows = try candidates.sorted().prefix(limit).compactMap {
                try txn.row(CRMFacts.customers, Key.of(.text($0)))
            }
            return .object([
                "customers": .array(rows.map { .object(summary($0)) }), "total": .int(Int64(candidates.count)),
            ])
        }
    }
}

/// The read models answer the access policy: whose a customer, deal, invoice or follow-up is,
/// caught up to the log's head first so a customer registered a moment ago is known.
extension CRMQueries: AccessFacts {
    /// Whose `record` is, by the read models.
    public func ownership(of record: SubjectRecord) throws(WireError) -> Ownership? {
        do {
            try catchUp()
            return try read { txn -> Ownership? in
                let customerId: String?
                switch record {
                case .customer(let id): customerId = id
                case .deal(let id): customerId = try txn.row(CRMFacts.deals, Key.of(.text(id)))?.customerId
                case .invoice(let id):
                    customerId = try txn.get(CRMFacts.invoiceKeys, Key.of(.text(id))).flatMap {
                        try txn.row(CRMFacts.sales, $0)
                    }?
                    .customerId
                case .followup(let id): customerId = try txn.row(CRMFacts.followups, Key.of(.text(id)))?.customerId
                }
                guard let customerId, let row = try txn.row(CRMFacts.customers, Key.of(.text(customerId))) else {
                    return nil
                }
                return Ownership(customerId: customerId, agentId: row.agentId)
            }
        } catch {
            throw WireError(wrapping: error)
        }
    }
}
