import Foundation
import JSONKit

/// One page's latency at one connection count, beside the same work asked straight of the socket.
struct PageMeasurement {
    var page: String
    var connections: Int
    var pageP50: Double
    var pageP99: Double
    var pageRate: Double
    var bareP50: Double
    var bareP99: Double
    var bareRate: Double
    var bareWork: String
}

/// HTTP/1.1 with keep-alive over a `LoadClient(port:)`, for the front desk's pages.
extension LoadClient {
    /// Sends a request and reads its whole response: the status, the headers, the body's bytes.
    func exchange(_ request: [UInt8]) -> (status: Int, headers: String, body: [UInt8])? {
        guard write(request) else { return nil }
        var chunk = [UInt8](repeating: 0, count: 65_536)
        func fill() -> Bool {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return false }
            pending += chunk[0..<n]
            return true
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        var end: Int?
        while end == nil {
            if pending.count >= 4 {
                end = (0...(pending.count - 4)).first { pending[$0..<($0 + 4)].elementsEqual(separator) }
            }
            if end == nil, !fill() { return nil }
        }
        let headers = String(decoding: pending[..<end!], as: UTF8.self)
        pending.removeFirst(end! + 4)
        let status = Int(headers.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length =
            headers.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
            .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        while pending.count < length { if !fill() { return nil } }
        let body = Array(pending[..<length])
        pending.removeFirst(length)
        return (status, headers, body)
    }

    /// A GET with the session cookie.
    static func get(_ path: String, cookie: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: \(cookie)\r\n\r\n".utf8)
    }
}

/// `connections` threads, each on its own connection doing `unit` over and over (a closed loop)
/// until `maxUnits` in all or `maxSeconds`; the latency of every unit, and the seconds it took.
func closedLoopThreads(
    connections: Int, maxUnits: Int, maxSeconds: Double, _ makeUnit: (Int) throws -> @Sendable () -> Bool
) throws -> (latencies: [Double], failures: Int, seconds: Double) {
    let units = try (0..<connections).map(makeUnit)
    let results = Samples()
    let group = DispatchGroup()
    let started = DispatchTime.now().uptimeNanoseconds
    let deadline = started + UInt64(maxSeconds * 1e9)
    let perThread = max(1, maxUnits / connections)
    for index in 0..<connections {
        group.enter()
        let unit = units[index]
        let thread = Thread {
            var mine: [Double] = []
            var failed = 0
            mine.reserveCapacity(perThread)
            for _ in 0..<perThread {
                let begin = DispatchTime.now().uptimeNanoseconds
                if unit() { mine.append(Double(DispatchTime.now().uptimeNanoseconds - begin) / 1e9) } else { failed += 1 }
                if DispatchTime.now().uptimeNanoseconds > deadline { break }
            }
            results.add(mine, failures: failed)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
    let (latencies, failures) = results.all
    return (latencies, failures, Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)
}

/// Latencies gathered from many threads.
final class Samples: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [Double] = []
    private var failures = 0

    /// Adds one thread's latencies and failures.
    func add(_ more: [Double], failures failed: Int) {
        lock.lock()
        latencies += more
        failures += failed
        lock.unlock()
    }

    /// Everything gathered.
    var all: ([Double], Int) {
        lock.lock()
        defer { lock.unlock() }
        return (latencies, failures)
    }
}

/// The front desk's pages on the demo company (`crmd demo`, about 200,000 events for 8,000
/// customers): `/customers/{id}`, `/search?q=` and `/dashboard` at each connection count, each
/// beside the same work asked straight of the daemon's socket in the same run.
func measurePages(
    directory: String, binary: String, customers: Int, connectionCounts: [Int], maxSeconds: Double
) throws -> [PageMeasurement] {
    log("web: a demo company of \(customers) customers over 3 years ...")
    let demo = try timed(binary, ["demo", "--data", directory, "--customers", String(customers), "--years", "3"])
    guard demo.status == 0 else { throw NSError(domain: "demo", code: 1) }
    let daemon = try BenchDaemon(binary: binary, directory: directory)
    defer { daemon.stop() }
    let password = "bench password of the manager"
    guard try timed(binary, ["web", "user", "add", "m0", "--data", directory], input: password + "\n").status == 0 else {
        throw NSError(domain: "web user add", code: 1)
    }
    let port = UInt16(18_000 + getpid() % 2_000)
    let web = Process()
    web.executableURL = URL(fileURLWithPath: binary)
    web.arguments = ["web", "--data", directory, "--listen", "127.0.0.1:\(port)"]
    web.standardOutput = FileHandle.nullDevice
    web.standardError = FileHandle.nullDevice
    try web.run()
    defer {
        web.terminate()
        web.waitUntilExit()
    }
    var login: LoadClient?
    for _ in 0..<300 where login == nil {
        login = try? LoadClient(port: port)
        if login == nil { usleep(50_000) }
    }
    guard let login, let form = login.exchange(Array("GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8)),
        let token = cookie(form.headers, "crmd_login")
    else { throw NSError(domain: "web", code: 1, userInfo: [NSLocalizedDescriptionKey: "crmd web did not start"]) }
    let body = "username=m0&password=\(password.replacingOccurrences(of: " ", with: "+"))&csrf=\(token)"
    let posted = login.exchange(
        Array(
            "POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: crmd_login=\(token)\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
                .utf8))
    guard let session = posted.flatMap({ cookie($0.headers, "crmd_session") }) else {
        throw NSError(domain: "web", code: 2, userInfo: [NSLocalizedDescriptionKey: "the manager could not log in"])
    }
    let sessionCookie = "crmd_session=\(session)"

    // Customers the files are asked for, and a phone of each for the search box.
    let probe = try LoadClient(path: daemon.socket)
    var files: [(id: String, phone: String)] = []
    for number in stride(from: 1, through: customers * 2, by: 7) where files.count < 64 {
        let request = JSON.object(["id": 1, "op": "customer.get", "args": .object(["customerId": .string("c\(number)")])])
        guard probe.write(request.bytes() + [10]), let line = probe.readLine(), let answer = try? JSON.parse(line),
            answer["ok"] == true, let phone = answer["result"]?["phones"]?.arrayValue?.first?.stringValue
        else { continue }
        files.append(("c\(number)", phone))
    }
    guard !files.isEmpty else { throw NSError(domain: "web", code: 3) }

    // The dashboard's work on the socket: the queries the page asks, one after the other.
    guard let dashboard = login.exchange(LoadClient.get("/dashboard", cookie: sessionCookie)), dashboard.status == 200
    else { throw NSError(domain: "web", code: 4) }
    let page = String(decoding: dashboard.body, as: UTF8.self)
    let from = page.range(of: "name=\"from\" type=\"date\" value=\"").map { String(page[$0.upperBound...].prefix(10)) } ?? ""
    let to = page.range(of: "name=\"to\" type=\"date\" value=\"").map { String(page[$0.upperBound...].prefix(10)) } ?? ""
    let period = #""from": "\#(from)T00:00:00+03:30", "to": "\#(to)T23:59:59+03:30""#
    let dashboardQueries = [
        #"{"id":1,"op":"system.status","args":{}}"#,
        #"{"id":1,"op":"report.sales","args":{\#(period), "groupBy": ["month", "agent", "branch"], "calendar": "persian"}}"#,
        #"{"id":1,"op":"report.sales","args":{\#(period), "groupBy": ["product", "agent", "branch"]}}"#,
        #"{"id":1,"op":"report.quotes","args":{\#(period)}}"#,
        #"{"id":1,"op":"funnel.report","args":{\#(period)}}"#,
        #"{"id":1,"op":"report.daily","args":{"date": "\#(to)", "timeZone": "Asia/Tehran"}}"#,
        #"{"id":1,"op":"report.receivables","args":{"until": "\#(to)T23:59:59+03:30"}}"#,
        #"{"id":1,"op":"report.dormant","args":{"days": 90}}"#,
        #"{"id":1,"op":"report.workload","args":{"from": "2026-01-01T00:00:00Z", "to": "2026-01-08T00:00:00Z"}}"#,
        #"{"id":1,"op":"report.branches","args":{\#(period)}}"#,
        #"{"id":1,"op":"report.targets","args":{"period": "1404-12", "calendar": "persian"}}"#,
    ].map { Array($0.utf8) + [10] }

    let pages: [(name: String, path: (Int) -> String, bare: (Int) -> [[UInt8]], work: String, units: Int)] = [
        (
            "/customers/{id}", { "/customers/\(files[$0 % files.count].id)" },
            {
                [
                    Array(
                        #"{"id":1,"op":"customer.get","args":{"customerId":"\#(files[$0 % files.count].id)","changes":true}}"#.utf8)
                        + [10]
                ]
            }, "customer.get with changes", 4_000
        ),
        (
            "/search?q=", {
                "/search?q=" + (files[$0 % files.count].phone.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
            },
            { [Array(#"{"id":1,"op":"customer.find","args":{"phone":"\#(files[$0 % files.count].phone)"}}"#.utf8) + [10]] },
            "customer.find by phone", 4_000
        ),
        ("/dashboard", { _ in "/dashboard" }, { _ in dashboardQueries }, "its 11 queries in turn", 200),
    ]
    var results: [PageMeasurement] = []
    for page in pages {
        for connections in connectionCounts {
            let measured = try closedLoopThreads(
                connections: connections, maxUnits: page.units, maxSeconds: maxSeconds
            ) { index in
                let client = try LoadClient(port: port)
                let request = LoadClient.get(page.path(index), cookie: sessionCookie)
                return { client.exchange(request).map { $0.status == 200 || $0.status == 303 } ?? false }
            }
            let bare = try closedLoopThreads(
                connections: connections, maxUnits: page.units, maxSeconds: maxSeconds
            ) { index in
                let client = try LoadClient(path: daemon.socket)
                let lines = page.bare(index)
                return { lines.allSatisfy { client.roundTrip($0) } }
            }
            let p = measured.latencies.sorted()
            let b = bare.latencies.sorted()
            if measured.failures + bare.failures > 0 {
                log("  \(measured.failures) page and \(bare.failures) socket requests failed")
            }
            let row = PageMeasurement(
                page: page.name, connections: connections, pageP50: percentile(p, 0.5), pageP99: percentile(p, 0.99),
                pageRate: Double(p.count) / measured.seconds, bareP50: percentile(b, 0.5), bareP99: percentile(b, 0.99),
                bareRate: Double(b.count) / bare.seconds, bareWork: page.work)
            log(
                "  \(page.name) at \(connections): page p50 \(ms(row.pageP50)) p99 \(ms(row.pageP99)) ms (\(Int(row.pageRate))/s); socket p50 \(ms(row.bareP50)) p99 \(ms(row.bareP99)) ms (\(Int(row.bareRate))/s)"
            )
            results.append(row)
        }
    }
    return results
}

/// Milliseconds with two decimals.
func ms(_ seconds: Double) -> String { String(format: "%.2f", seconds * 1000) }

/// The value a response's Set-Cookie gives `name`.
func cookie(_ headers: String, _ name: String) -> String? {
    for line in headers.split(separator: "\r\n") where line.lowercased().hasPrefix("set-cookie:") {
        let value = line.dropFirst("set-cookie:".count).trimmingCharacters(in: .whitespaces)
        if value.hasPrefix(name + "=") { return String(value.dropFirst(name.count + 1).prefix { $0 != ";" }) }
    }
    return nil
}
