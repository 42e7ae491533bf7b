import EventStore
import CRMEvents
import Foundation

/// Durable commands over the daemon's socket at one concurrency.
struct SocketMeasurement {
    var connections: Int
    var commands: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var p999: Double
    var rate: Double { Double(commands) / seconds }
}

/// A blocking client for the load generator: one request, one response, in a closed loop.
// @unchecked: each client is used by exactly one iteration of the load loop, never shared.
private final class LoadClient: @unchecked Sendable {
    let fd: Int32
    var pending: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
    }

    deinit { close(fd) }

    func roundTrip(_ line: [UInt8]) -> Bool {
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            sent += n
        }
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let ok = pending[..<newline].starts(with: Array(#"{"id":1,"ok":true"#.utf8))
                pending.removeFirst(newline + 1)
                return ok
            }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            pending += chunk[0..<n]
        }
    }
}

/// Starts the real `crmd serve` (release build) on a fresh directory and drives `note.add`
/// from each connection count in turn: every client sends one command, waits for its durable
/// response, and sends the next, for at most `maxSeconds` and `maxCommands`.
func measureSocket(directory: String, binary: String, connectionCounts: [Int], maxCommands: Int, maxSeconds: Double) throws -> [SocketMeasurement] {
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let daemon = Process()
    daemon.executableURL = URL(fileURLWithPath: binary)
    daemon.arguments = ["serve", "--data", directory]
    let output = Pipe()
    daemon.standardOutput = output
    daemon.standardError = output
    try daemon.run()
    defer {
        kill(daemon.processIdentifier, SIGTERM)
        daemon.waitUntilExit()
    }
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains("crmd: serving"), daemon.isRunning { seen.append(output.fileHandleForReading.availableData) }
    let socketPath = directory + "/crmd.sock"
    let setup = try LoadClient(path: socketPath)
    _ = setup.roundTrip(Array(#"{"id":1,"op":"agent.hire","args":{"agentId":"a1","name":"کارشناس"}}"#.utf8) + [10])
    let maxConnections = connectionCounts.max() ?? 1
    for c in 0..<maxConnections {
        _ = setup.roundTrip(Array(#"{"id":1,"op":"customer.register","args":{"customerId":"c\#(c)","name":"مشتری \#(c)","agentId":"a1"}}"#.utf8) + [10])
    }
    var results: [SocketMeasurement] = []
    for connections in connectionCounts {
        let clients = try (0..<connections).map { _ in try LoadClient(path: socketPath) }
        let perClient = max(1, maxCommands / connections)
        let latencies = Locked<[Double]>([])
        let failures = Locked(0)
        let deadline = Date().addingTimeInterval(maxSeconds)
        let started = Date()
        // One thread per connection (concurrentPerform would run only as many as there are cores).
        let done = DispatchGroup()
        for index in 0..<connections {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
            let client = clients[index]
            let line = Array(#"{"id":1,"op":"note.add","args":{"customerId":"c\#(index)","text":"مشتری قیمت را پرسید و قرار شد پیش‌فاکتور ارسال شود","agentId":"a1"}}"#.utf8) + [10]
            var mine: [Double] = []
            mine.reserveCapacity(perClient)
            for i in 0..<perClient {
                let begin = DispatchTime.now().uptimeNanoseconds
                if !client.roundTrip(line) { failures.withLock { $0 += 1 } }
                mine.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9)
                if i % 16 == 0, Date() > deadline { break }
            }
            let collected = mine
            latencies.withLock { $0 += collected }
            }
        }
        done.wait()
        let seconds = Date().timeIntervalSince(started)
        let sorted = latencies.withLock { $0 }.sorted()
        if failures.withLock({ $0 }) > 0 { log("  \(failures.withLock { $0 }) commands failed") }
        results.append(SocketMeasurement(connections: connections, commands: sorted.count, seconds: seconds, p50: percentile(sorted, 0.5),
                                         p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999)))
        log("  \(connections) connections: \(Int(results.last!.rate)) commands/s, p99 \(String(format: "%.2f", results.last!.p99 * 1000)) ms")
    }
    return results
}
