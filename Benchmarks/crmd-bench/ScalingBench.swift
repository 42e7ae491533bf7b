import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// One log size of the scaling table: what appending, rebuilding and reading a customer cost
/// once the log holds `events` events.
struct ScalingRow {
    var events: Int
    var customers: Int
    var appendRate: Double
    var rebuildRate: Double
    var getP50: Double
    var getP99: Double
}

/// Grows one log through `sizes` and measures at each. The history is written straight into the
/// store (a customer's registration with sealed personal data, then a hundred calls, notes and
/// emails on its activity stream, one commit per customer): going through the commands would
/// take an hour for 10M events and measure the commands, not how cost grows with history.
func measureScaling(directory: String, sizes: [Int], seconds: Double) async throws -> [ScalingRow] {
    var options = StoreOptions()
    options.initialMapSize = 1 << 32
    let store = try EventStore(directory: directory + "/log", options: options)
    let keys = try KeyStore(directory: directory + "/keys")
    defer { store.close(); keys.close() }
    let agents = 20
    try await store.append(
        AppendRequest(
            appends: (0..<agents).map { i in
                StreamAppend(
                    stream: "agent-a\(i)", expected: .noStream,
                    events: [
                        CRMEvent.agentHired(
                            AgentHired(agentId: "a\(i)", name: "کارمند \(i)", role: "agent", branchId: nil)
                        ).proposed(at: .now())
                    ])
            }))
    let perCustomer = 100
    var customers = 0
    var rows: [ScalingRow] = []
    for size in sizes {
        let began = ContinuousClock.now
        let target = max(0, (size - Int(try store.head().position)) / perCustomer)
        let first = customers
        customers += target
        // Sixteen writers share the group commit; the key store is the serial part.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for writer in 0..<16 {
                group.addTask {
                    var index = first + writer
                    while index < first + target {
                        try await store.append(scalingCustomer(index, agents: agents, events: perCustomer, keys: keys))
                        index += 16
                    }
                }
            }
            try await group.waitForAll()
        }
        let events = Int(try store.head().position)
        log(
            "  scaling: \(events) events (\(customers) customers) written in \(Int((ContinuousClock.now - began).seconds)) s"
        )

        // Appends at this size: 256 appenders of the standard payload, bounded in count and time.
        // Bounded to a tenth of the log, so the burst does not change the size it measures.
        let appendRate = try await appendBurst(
            store: store, customers: customers, appenders: 256, maxEvents: min(100_000, size / 10), seconds: seconds)

        let projector = try Projector(
            store: store, directory: directory + "/projections-\(size)", projections: Projections.all(keys: keys))
        let rebuildBegan = ContinuousClock.now
        try projector.rebuild()
        let rebuildRate = Double(try store.head().position.rawValue) / (ContinuousClock.now - rebuildBegan).seconds

        let queries = CustomerQueries(projector: projector, keys: keys)
        var rng = SystemRandomNumberGenerator()
        var latencies: [Double] = []
        for _ in 0..<2000 {
            let customer = "s\(Int.random(in: 0..<customers, using: &rng))"
            let begin = ContinuousClock.now
            _ = try queries.get(customer).json
            latencies.append((ContinuousClock.now - begin).seconds)
        }
        latencies.sort()
        projector.close()
        try? FileManager.default.removeItem(atPath: directory + "/projections-\(size)")
        rows.append(
            ScalingRow(
                events: Int(try store.head().position), customers: customers, appendRate: appendRate,
                rebuildRate: rebuildRate,
                getP50: percentile(latencies, 0.5), getP99: percentile(latencies, 0.99)))
        log(
            "  appends \(Int(appendRate)) events/s, rebuild \(Int(rebuildRate)) events/s, customer.get p99 \(String(format: "%.2f", percentile(latencies, 0.99) * 1000)) ms"
        )
    }
    return rows
}

/// Customer `index`'s history as one commit: a registration (name and phone sealed under its own
/// key) and `events - 1` interactions on its activity stream, a week apart.
private func scalingCustomer(_ index: Int, agents: Int, events: Int, keys: KeyStore) throws -> AppendRequest {
    let id = "s\(index)"
    let owner = DataKey.owner(ofCustomer: id)
    let key = DataKey(
        owner: owner, bytes: try keys.keyCreatingIfNeeded(for: owner) { DataKey.generate(owner: owner).bytes })
    let agent = "a\(index % agents)"
    let registered = CustomerRegistered(
        customerId: id, kind: "person", name: key.seal("مشتری شماره \(index)"),
        phones: [key.seal("+98 912 \(100 + index % 900) \(1000 + index % 9000)")], emails: [], address: nil,
        birthday: nil, source: CustomerSource(channel: "website"), agentId: agent, branchId: nil, tags: [])
    let start = Int64(1_680_000_000) * 1_000_000 + Int64(index) * 1_000_000
    let kinds: [InteractionKind] = [.call, .call, .note, .email, .sms]
    let activity = (1..<events).map { n in
        let kind = kinds[n % kinds.count]
        let at = Timestamp(microsecondsSince1970: start + Int64(n) * 604_800_000_000).rfc3339
        return CRMEvent.interaction(
            kind,
            Interaction(
                interactionId: "\(id)-\(n)", customerId: id, agentId: agent, at: at,
                direction: "outbound", durationSeconds: kind == .call ? 120 : nil,
                outcome: kind == .call ? "interested" : nil,
                subject: kind == .email ? key.seal("پیش‌فاکتور") : nil,
                text: key.seal("پیگیری سفارش \(n)"))
        ).proposed(at: .now())
    }
    return AppendRequest(appends: [
        StreamAppend(
            stream: "customer-\(id)", expected: .noStream, events: [CRMEvent.customerRegistered(registered).proposed(at: .now())]),
        StreamAppend(stream: "activity-\(id)", expected: .any, events: activity),
    ])
}

/// Appends from `appenders` concurrent tasks, one call per append on a customer's activity
/// stream (a valid CRM event, so the rebuild that follows folds it), for at most `seconds` or
/// `maxEvents`; returns events per second.
private func appendBurst(
    store: EventStore, customers: Int, appenders: Int, maxEvents: Int, seconds: Double
) async throws -> Double {
    let before = store.commitStatistics
    defer {
        // Where the writer's time went during the burst: how appending cost grows with the log.
        let after = store.commitStatistics
        log(
            String(
                format:
                    "  burst: %d events in %d commits; writer %.2f s encoding, %.2f s committing, %d merges in %.2f s",
                after.events - before.events, after.commits - before.commits,
                after.encodeSeconds - before.encodeSeconds,
                after.commitSeconds - before.commitSeconds, after.indexMerges - before.indexMerges,
                after.mergeSeconds - before.mergeSeconds))
    }
    let began = ContinuousClock.now
    let deadline = began + .milliseconds(Int(seconds * 1000))
    let perAppender = max(1, maxEvents / appenders)
    let written = try await withThrowingTaskGroup(of: Int.self) { group in
        for appender in 0..<appenders {
            group.addTask {
                var count = 0
                while count < perAppender, ContinuousClock.now < deadline {
                    let customer = "s\((appender * 7919 + count * 104_729) % max(1, customers))"
                    let call = Interaction(
                        interactionId: "burst-\(UUID().uuidString)", customerId: customer, agentId: "a\(appender % 20)",
                        at: "2026-03-03T09:15:00Z", direction: "inbound", durationSeconds: 184, outcome: "quoted")
                    try await store.append(to: "activity-\(customer)", [CRMEvent.interaction(.call, call).proposed(at: .now())])
                    count += 1
                }
                return count
            }
        }
        return try await group.reduce(0, +)
    }
    return Double(written) / (ContinuousClock.now - began).seconds
}
