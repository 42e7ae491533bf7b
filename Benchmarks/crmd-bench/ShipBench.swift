import Commands
import Demo
import EventStore
import Foundation
import JSONKit
import KeyValue
import PostgresCluster

/// Shipping the log to PostgreSQL, beside PostgreSQL's own COPY of the same rows from a file.
struct ShipMeasurement {
    var events: Int
    var shipSeconds: Double
    var copySeconds: Double
    var commandsPerSecond: Double
    var lagP50: Double
    var lagP99: Double
    var lagMax: Double
    var shipRate: Double { Double(events) / shipSeconds }
    var copyRate: Double { Double(events) / copySeconds }
}

/// A demo log of `events` events shipped by `crmd ship --once`; the same rows copied by
/// PostgreSQL from a file; then the shipper's lag inside a daemon taking `rate` commands a second.
func measureShipping(directory: String, binary: String, events: Int, rate: Int, seconds: Double) async throws
    -> ShipMeasurement
{
    log("ship: a demo log of \(events) events ...")
    let now = Locked(Timestamp(rfc3339: "2023-03-21T04:30:00Z")!.microsecondsSince1970)
    var options = StoreOptions()
    options.initialMapSize = 1 << 30
    options.clock = { Timestamp(microsecondsSince1970: now.withLock { $0 }) }
    do {
        let store = try EventStore(directory: directory + "/source/log", options: options)
        let keys = try KeyStore(directory: directory + "/source/keys")
        defer {
            store.close()
            keys.close()
        }
        let service = CommandService(store: store, keys: keys, clock: options.clock)
        var demo = DemoCompany(service: service) { time in now.withLock { $0 = max($0, time.microsecondsSince1970) } }
        try await demo.run(events: events)
    }
    // Beside the scratch directory, not in it: the postgres user must be able to reach it.
    let postgres = try PostgresCluster(directory: NSTemporaryDirectory() + "crmd-bench-pg-\(getpid())")
    defer {
        try? postgres.stop(mode: "immediate")
        try? FileManager.default.removeItem(atPath: postgres.directory)
    }
    let ship = try timed(binary, ["ship", "--data", directory + "/source", "--postgres", postgres.url(), "--once"])
    guard ship.status == 0 else { throw NSError(domain: "ship", code: 1, userInfo: [NSLocalizedDescriptionKey: ship.output]) }
    let shipped = Int(try postgres.sql("SELECT count(*) FROM crmd_events").first ?? "") ?? 0
    log("  shipped \(shipped) events in \(String(format: "%.1f", ship.seconds)) s (\(Int(Double(shipped) / ship.seconds)) events/s)")
    let file = postgres.directory + "/rows.copy"
    try postgres.sql("COPY crmd_events TO '\(file)'")
    try postgres.sql("CREATE TABLE crmd_copy (LIKE crmd_events INCLUDING ALL)")
    let copyStarted = ContinuousClock.now
    try postgres.sql("COPY crmd_copy FROM '\(file)'")
    let copySeconds = (ContinuousClock.now - copyStarted).seconds
    log("  PostgreSQL's own COPY of the same rows from a file: \(String(format: "%.1f", copySeconds)) s")

    log("ship: the lag inside a daemon taking \(rate) commands/s for \(Int(seconds)) s ...")
    // Another log: its own database (the first one holds the demo log, and would refuse it).
    try postgres.sql("CREATE DATABASE live")
    let daemon = try BenchDaemon(
        binary: binary, directory: directory + "/live", arguments: ["--ship-to", postgres.url(database: "live")])
    defer { daemon.stop() }
    let setup = try LoadClient(path: daemon.socket)
    _ = setup.roundTrip(Array(#"{"id":1,"op":"agent.hire","args":{"agentId":"a1","name":"مریم"}}"#.utf8) + [10])
    _ = setup.roundTrip(
        Array(#"{"id":1,"op":"customer.register","args":{"customerId":"c1","name":"مشتری","agentId":"a1"}}"#.utf8) + [10])
    let note = Array(#"{"id":1,"op":"note.add","args":{"customerId":"c1","text":"یادداشت تماس"},"as":"a1"}"#.utf8) + [10]
    let lags = Samples()
    let stop = Locked(false)
    let socket = daemon.socket
    let watcher = Thread {
        guard let status = try? LoadClient(path: socket) else { return }
        let ask = Array(#"{"id":1,"op":"system.status","args":{}}"#.utf8) + [10]
        var seen: [Double] = []
        while !stop.withLock({ $0 }) {
            if status.write(ask), let line = status.readLine(), let answer = try? JSON.parse(line) {
                switch answer["result"]?["ship"]?["lagSeconds"] {
                case .double(let lag)?: seen.append(lag)
                case .int(let lag)?: seen.append(Double(lag))
                default: break
                }
            }
            usleep(100_000)
        }
        lags.add(seen, failures: 0)
    }
    watcher.start()
    let writers = 4
    let measured = try closedLoopThreads(connections: writers, maxUnits: Int(Double(rate) * seconds), maxSeconds: seconds + 5) {
        _ in
        let client = try LoadClient(path: daemon.socket)
        let interval = Double(writers) / Double(rate)
        let start = DispatchTime.now().uptimeNanoseconds
        let sent = Locked(0)
        return {
            // Paced: each writer sends its share of `rate` a second, on a fixed schedule.
            let index = sent.withLock { value -> Int in
                value += 1
                return value
            }
            let due = start + UInt64(Double(index) * interval * 1e9)
            let now = DispatchTime.now().uptimeNanoseconds
            if due > now { usleep(UInt32((due - now) / 1000)) }
            return client.roundTrip(note)
        }
    }
    stop.withLock { $0 = true }
    while !watcher.isFinished { usleep(10_000) }
    let sorted = lags.all.0.sorted()
    let achieved = Double(measured.latencies.count) / measured.seconds
    log(
        "  \(Int(achieved)) commands/s; lag p50 \(String(format: "%.3f", percentile(sorted, 0.5))) s, p99 \(String(format: "%.3f", percentile(sorted, 0.99))) s, max \(String(format: "%.3f", sorted.last ?? 0)) s"
    )
    return ShipMeasurement(
        events: shipped, shipSeconds: ship.seconds, copySeconds: copySeconds, commandsPerSecond: achieved,
        lagP50: percentile(sorted, 0.5), lagP99: percentile(sorted, 0.99), lagMax: sorted.last ?? 0)
}
