import CRMEvents
import EventStore
import Foundation
import JSONKit

/// Durable commands over the daemon's socket at one concurrency.
struct SocketMeasurement {
    var connections: Int
    var commands: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var p999: Double
    /// The daemon's mean events per durable commit while this load ran (`system.status`).
    var eventsPerCommit: Double
    /// The daemon's CPU time (user and system, every thread) per command.
    var cpuPerCommand: Double
    /// The store's own rate with as many appenders as there were connections (same run).
    var storeRate: Double = 0
    var rate: Double { Double(commands) / seconds }
}

/// A client connection of the load generator: one request, one response, in a closed loop.
// @unchecked: each client is used by one thread only (the set-up, then the poll loop).
final class LoadClient: @unchecked Sendable {
    let fd: Int32
    var pending: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
    }

    /// A loopback TCP connection to `port` (the front desk's HTTP), without Nagle's delay.
    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard rc == 0 else {
            close(fd)
            throw NSError(domain: "connect", code: Int(errno))
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    deinit { close(fd) }

    /// Writes all of `line`; false when the daemon has gone.
    func write(_ line: [UInt8]) -> Bool {
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    func roundTrip(_ line: [UInt8]) -> Bool {
        guard write(line), let response = readLine() else { return false }
        return response.starts(with: Array(#"{"id":1,"ok":true"#.utf8))
    }

    /// The next response line, without its newline; nil when the daemon has gone.
    func readLine() -> [UInt8]? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                return line
            }
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            pending += chunk[0..<n]
        }
    }
}

/// Starts the real `crmd serve` (release build) on a fresh directory and drives `note.add`
/// from each connection count in turn: every client sends one command, waits for its durable
/// response, and sends the next, for at most `maxSeconds` and `maxCommands`.
func measureSocket(
    directory: String, binary: String, connectionCounts: [Int], maxCommands: Int, maxSeconds: Double
) throws -> [SocketMeasurement] {
    let served = try BenchDaemon(binary: binary, directory: directory)
    defer { served.stop() }
    let daemon = served.process
    let socketPath = served.socket
    let setup = try LoadClient(path: socketPath)
    _ = setup.roundTrip(Array(#"{"id":1,"op":"agent.hire","args":{"agentId":"a1","name":"کارشناس"}}"#.utf8) + [10])
    let maxConnections = connectionCounts.max() ?? 1
    for c in 0..<maxConnections {
        _ = setup.roundTrip(
            Array(
                #"{"id":1,"op":"customer.register","args":{"customerId":"c\#(c)","name":"مشتری \#(c)","agentId":"a1"}}"#
                    .utf8) + [10])
    }
    var results: [SocketMeasurement] = []
    for connections in connectionCounts {
        let clients = try (0..<connections).map { _ in try LoadClient(path: socketPath) }
        let lines = (0..<connections).map { index in
            Array(
                #"{"id":1,"op":"note.add","args":{"customerId":"c\#(index)","text":"مشتری قیمت را پرسید و قرار شد پیش‌فاکتور ارسال شود","agentId":"a1"}}"#
                    .utf8) + [10]
        }
        let before = commitCounts(setup)
        let cpuBefore = cpuSeconds(of: daemon.processIdentifier)
        let measured = driveClosedLoop(
            clients: clients, lines: lines, perClient: max(1, maxCommands / connections), maxSeconds: maxSeconds)
        let after = commitCounts(setup)
        let cpu = cpuSeconds(of: daemon.processIdentifier) - cpuBefore
        let perCommit =
            after.commits > before.commits
            ? Double(after.events - before.events) / Double(after.commits - before.commits) : 0
        let sorted = measured.latencies.sorted()
        if measured.failures > 0 { log("  \(measured.failures) commands failed") }
        results.append(
            SocketMeasurement(
                connections: connections, commands: sorted.count, seconds: measured.seconds,
                p50: percentile(sorted, 0.5),
                p99: percentile(sorted, 0.99), p999: percentile(sorted, 0.999), eventsPerCommit: perCommit,
                cpuPerCommand: sorted.isEmpty ? 0 : cpu / Double(sorted.count)))
        log(
            "  \(connections) connections: \(Int(results.last!.rate)) commands/s, p99 \(String(format: "%.2f", results.last!.p99 * 1000)) ms, "
                + "\(String(format: "%.1f", perCommit)) events per commit, \(Int(results.last!.cpuPerCommand * 1e6)) µs of daemon CPU per command"
        )
    }
    return results
}

/// A process's CPU time so far (user and system), from /proc/PID/stat.
func cpuSeconds(of pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    // Fields after the command name: state is field 3, utime 14 and stime 15.
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// The daemon's commits and events so far, from `system.status`.
func commitCounts(_ client: LoadClient) -> (commits: Int, events: Int) {
    guard client.write(Array(#"{"id":1,"op":"system.status"}"#.utf8) + [10]), let line = client.readLine(),
        let json = try? JSON.parse(line), let commits = json["result"]?["commits"]
    else { return (0, 0) }
    return (Int(commits["commits"]?.intValue ?? 0), Int(commits["events"]?.intValue ?? 0))
}

/// Drives every client from one thread with poll(2): each sends its line, waits for the
/// response, and sends again, until it has sent `perClient` or `maxSeconds` have passed.
///
/// One thread rather than one per connection: on two cores, 128 blocking client threads cost
/// the machine more context switches than the daemon under test, and the figure measured the
/// load generator as much as crmd.
func driveClosedLoop(
    clients: [LoadClient], lines: [[UInt8]], perClient: Int, maxSeconds: Double
)
    -> (latencies: [Double], failures: Int, seconds: Double)
{
    let okPrefix = Array(#"{"id":1,"ok":true"#.utf8)
    var fds = clients.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
    var sentAt = [UInt64](repeating: 0, count: clients.count)
    var sent = [Int](repeating: 0, count: clients.count)
    var latencies: [Double] = []
    latencies.reserveCapacity(perClient * clients.count)
    var failures = 0
    var chunk = [UInt8](repeating: 0, count: 65_536)
    let started = DispatchTime.now().uptimeNanoseconds
    let deadline = started + UInt64(maxSeconds * 1e9)
    func send(_ index: Int) -> Bool {
        sentAt[index] = DispatchTime.now().uptimeNanoseconds
        sent[index] += 1
        return clients[index].write(lines[index])
    }
    var open = 0
    for index in clients.indices {
        if send(index) { open += 1 } else { failures += 1; fds[index].fd = -1 }
    }
    while open > 0 {
        let ready = poll(&fds, nfds_t(fds.count), 1000)
        if ready < 0, errno == EINTR { continue }
        guard ready > 0 else { break }  // a second without any response: the daemon is stuck
        let now = DispatchTime.now().uptimeNanoseconds
        for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
            let client = clients[index]
            let n = chunk.withUnsafeMutableBytes { Glibc.read(client.fd, $0.baseAddress, $0.count) }
            guard n > 0 else { failures += 1; fds[index].fd = -1; open -= 1; continue }
            client.pending += chunk[0..<n]
            // Closed loop: one request in flight per connection, so at most one response is waiting.
            guard let newline = client.pending.firstIndex(of: 10) else { continue }
            if !client.pending[..<newline].starts(with: okPrefix) { failures += 1 }
            client.pending.removeFirst(newline + 1)
            latencies.append(Double(now - sentAt[index]) / 1e9)
            if sent[index] < perClient, now < deadline, send(index) { continue }
            fds[index].fd = -1
            open -= 1
        }
    }
    return (latencies, failures, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
}
