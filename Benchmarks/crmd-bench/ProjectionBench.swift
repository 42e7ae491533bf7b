import CRMEvents
import Commands
import Demo
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// One log size: a bare read of the log beside a rebuild of every projection.
struct RebuildMeasurement {
    var events: Int
    var bareRate: Double
    var rebuildRate: Double
    var peakHeapGrowth: Int
    /// A read that also decodes every payload into its typed CRM event (one thread), the least
    /// any projection that looks at payloads must do per event.
    var payloadRate: Double
}

/// Rebuild speed and memory at two log sizes, and `customer.get asOf` latency on the larger.
struct ProjectionMeasurement {
    var sizes: [RebuildMeasurement]
    var asOfP50: Double
    var asOfP99: Double
    var asOfQueries: Int
    var generationSeconds: Double
}

/// Anonymous (heap) memory of this process now, in bytes, from /proc/self/status.
func heapBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
    for line in status.split(separator: "\n") where line.hasPrefix("RssAnon:") {
        return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
    }
    return 0
}

/// Writes a demo company's history through the commands, then measures rebuilds at `sizes` events.
func measureProjections(directory: String, sizes: [Int]) async throws -> ProjectionMeasurement {
    let now = Locked(Timestamp(rfc3339: "2023-03-21T04:30:00Z")!.microsecondsSince1970)
    var options = StoreOptions()
    options.initialMapSize = 1 << 30
    options.clock = { Timestamp(microsecondsSince1970: now.withLock { $0 }) }
    let store = try EventStore(directory: directory + "/log", options: options)
    let keys = try KeyStore(directory: directory + "/keys")
    defer { store.close(); keys.close() }
    let service = CommandService(store: store, keys: keys, clock: options.clock)
    var results: [RebuildMeasurement] = []
    var generation = 0.0
    for (round, size) in sizes.enumerated() {
        var demo = DemoCompany(service: service) { time in now.withLock { $0 = max($0, time.microsecondsSince1970) } }
        demo.start = Timestamp(microsecondsSince1970: now.withLock { $0 } + 86_400_000_000)
        demo.idPrefix = "r\(round)"
        let started = ContinuousClock.now
        try await demo.run(events: size)
        generation += (ContinuousClock.now - started).seconds
        let events = Int(try store.head().position)
        log("  history of \(events) events written; bare read and rebuild ...")

        let bare = try bestRate(of: 3, store) { _ in }
        let projector = try Projector(
            store: store, directory: directory + "/projections-\(round)",
            projections: Projections.all(keys: keys))
        let (rebuild, growth) = try await rebuildWithPeakHeap(projector, events: events)
        let decoded = try bestRate(of: 3, store) { event in _ = try ProjectedEvent(event) }
        results.append(
            RebuildMeasurement(
                events: events, bareRate: bare, rebuildRate: rebuild, peakHeapGrowth: growth,
                payloadRate: decoded))
        log(
            "  bare read \(Int(bare)) events/s, payloads decoded \(Int(decoded)) events/s, rebuild \(Int(rebuild)) events/s, "
                + "heap +\(growth / 1_048_576) MiB")
        if round == 0 {
            try rebuildEachAlone(store, keys: keys, directory: directory + "/alone-\(round)", events: events)
        }
        if round == sizes.count - 1 {
            let latencies = try asOfLatencies(store, projector: projector, keys: keys, queries: 2000)
            projector.close()
            return ProjectionMeasurement(
                sizes: results, asOfP50: percentile(latencies, 0.5), asOfP99: percentile(latencies, 0.99),
                asOfQueries: latencies.count, generationSeconds: generation)
        }
        projector.close()
    }
    return ProjectionMeasurement(sizes: results, asOfP50: 0, asOfP99: 0, asOfQueries: 0, generationSeconds: generation)
}

/// The best of `passes` full scans of the log, doing `work` per event, in events/s.
func bestRate(of passes: Int, _ store: EventStore, _ work: (RecordedEvent) throws -> Void) throws -> Double {
    var best = 0.0
    for _ in 0..<passes {
        let begin = ContinuousClock.now
        var count = 0
        try store.scan { event in
            try work(event)
            count += 1
            return true
        }
        best = max(best, Double(count) / (ContinuousClock.now - begin).seconds)
    }
    return best
}

/// Rebuilds every projection of `projector` from position 1; its rate, and the growth of the
/// process's anonymous memory meanwhile (sampled every 5 ms).
func rebuildWithPeakHeap(_ projector: Projector, events: Int) async throws -> (rate: Double, growth: Int) {
    let baseline = heapBytes()
    let peak = Locked(baseline)
    let sampler = Task.detached {
        while !Task.isCancelled {
            let current = heapBytes()
            peak.withLock { $0 = max($0, current) }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
    let begin = ContinuousClock.now
    try projector.rebuild()
    let rate = Double(events) / (ContinuousClock.now - begin).seconds
    sampler.cancel()
    _ = await sampler.value
    return (rate, peak.withLock { $0 } - baseline)
}

/// Rebuilds each projection on its own, logging its rate (where a rebuild's time goes).
func rebuildEachAlone(_ store: EventStore, keys: KeyStore, directory: String, events: Int) throws {
    for name in ["customer-timeline", "event-counts", "crm-facts"] {
        let alone = try Projector(
            store: store, directory: directory + "-\(name)",
            projections: Projections.all(keys: keys).filter { type(of: $0).name == name })
        let begin = ContinuousClock.now
        try alone.rebuild()
        log("  \(name) alone: \(Int(Double(events) / (ContinuousClock.now - begin).seconds)) events/s")
        alone.close()
    }
}

/// Latencies of `customer.get` with `asOf`: a random customer at a random time since their registration.
func asOfLatencies(_ store: EventStore, projector: Projector, keys: KeyStore, queries count: Int) throws -> [Double] {
    let queries = CustomerQueries(projector: projector, keys: keys)
    // Customers with the time they were registered, so each query asks about a time the file existed.
    let customers = try projector.state.read { txn in
        var rows: [(String, Int64)] = []
        try txn.scan("customers", prefix: []) { key, value in
            let registered = (try? JSON.parse(value))?["registeredMicros"]?.intValue ?? 0
            rows.append((String(decoding: key.dropLast(), as: UTF8.self), registered))
            return rows.count < 50_000
        }
        return rows
    }
    let first = try store.event(at: 1)!.recordedAt.microsecondsSince1970
    let end = try store.event(at: try store.head().position)!.recordedAt.microsecondsSince1970
    var rng = SystemRandomNumberGenerator()
    var latencies: [Double] = []
    for _ in 0..<count {
        let (customer, registered) = customers[Int.random(in: 0..<customers.count, using: &rng)]
        let time = Timestamp(microsecondsSince1970: Int64.random(in: max(first, registered)...end, using: &rng))
        let begin = ContinuousClock.now
        _ = try queries.get(customer, asOf: time).json
        latencies.append((ContinuousClock.now - begin).seconds)
    }
    return latencies.sorted()
}
