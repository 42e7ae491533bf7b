import Foundation
import JSONKit

/// `crmd import` through the real daemon, beside that daemon's own `customer.register` rate.
struct ImportMeasurement {
    /// Customer rows in the generated file.
    var rows: Int
    var seconds: Double
    /// `customer.register` over the socket at `baselineConnections` closed-loop connections.
    var registerRate: Double
    var baselineConnections: Int
    /// A demo company's history exported and imported into an empty company, file by file.
    var history: [(kind: String, rows: Int, seconds: Double, summary: String)]
    var rate: Double { Double(rows) / seconds }
}

/// A running `crmd serve` on a fresh directory, stopped when dropped.
final class BenchDaemon {
    let process = Process()
    let directory: String
    var socket: String { directory + "/crmd.sock" }

    init(binary: String, directory: String, arguments: [String] = []) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--data", directory] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("crmd: serving"), process.isRunning {
            seen.append(output.fileHandleForReading.availableData)
        }
        // The daemon logs little; reading it keeps a long run from filling the pipe.
        output.fileHandleForReading.readabilityHandler = { _ = $0.availableData }
    }

    func stop() {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
    }
}

/// Runs `binary` with `arguments` (and `input` on its standard input) and returns its exit
/// status, standard output and the seconds it took.
func timed(_ binary: String, _ arguments: [String], input: String? = nil) throws -> (
    status: Int32, output: String, seconds: Double
) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    let started = DispatchTime.now().uptimeNanoseconds
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: data, as: UTF8.self),
        Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
    )
}

/// The daemon's `customer.register` rate, then a generated file of `rows` customers imported
/// through a second fresh daemon, then a demo company's three years exported and imported.
func measureImport(
    directory: String, binary: String, rows: Int, connections: Int, maxSeconds: Double, historyCustomers: Int
) throws -> ImportMeasurement {
    let hire = Array(#"{"id":1,"op":"agent.hire","args":{"agentId":"a1","name":"کارشناس"}}"#.utf8) + [10]

    log("import: customer.register through the daemon at \(connections) connections ...")
    let baseline = try BenchDaemon(binary: binary, directory: directory + "/register")
    let setup = try LoadClient(path: baseline.socket)
    _ = setup.roundTrip(hire)
    let clients = try (0..<connections).map { _ in try LoadClient(path: baseline.socket) }
    let lines = (0..<connections).map { index in
        Array(
            #"{"id":1,"op":"customer.register","args":{"name":"مشتری \#(index)","phones":["0912\#(String(format: "%07d", index))"],"agentId":"a1","source":{"channel":"instagram"}}}"#
                .utf8) + [10]
    }
    let measured = driveClosedLoop(
        clients: clients, lines: lines, perClient: max(1, rows / connections), maxSeconds: maxSeconds)
    baseline.stop()
    let registerRate = Double(measured.latencies.count) / measured.seconds
    log("  \(Int(registerRate)) customer.register/s")

    log("import: \(rows) generated customer rows through crmd import ...")
    var csv = "name,phone,email,agent,source,registered\r\n"
    csv.reserveCapacity(rows * 80)
    for n in 0..<rows {
        csv += "مشتری شماره \(n),0912\(String(format: "%07d", n)),c\(n)@example.ir,a1,instagram,1401/0\(n % 9 + 1)/1\(n % 9)\r\n"
    }
    let file = directory + "/customers.csv"
    FileManager.default.createFile(atPath: file, contents: Data(csv.utf8))
    let target = try BenchDaemon(binary: binary, directory: directory + "/import")
    _ = try LoadClient(path: target.socket).roundTrip(hire)
    let run = try timed(binary, ["import", "customers", file, "--data", target.directory])
    target.stop()
    guard run.status == 0, run.output.contains("\(rows) imported") else {
        throw NSError(domain: "import", code: 1, userInfo: [NSLocalizedDescriptionKey: run.output])
    }
    log("  \(Int(Double(rows) / run.seconds)) rows/s (\(String(format: "%.1f", run.seconds)) s)")

    let history = try measureHistoryImport(
        directory: directory + "/history", binary: binary, customers: historyCustomers)
    return ImportMeasurement(
        rows: rows, seconds: run.seconds, registerRate: registerRate, baselineConnections: connections,
        history: history)
}

/// A demo company's history (customers over three years), exported as the files a company would
/// bring (customers, interactions, invoices) and imported into an empty company staffed alike.
func measureHistoryImport(directory: String, binary: String, customers: Int) throws -> [(
    kind: String, rows: Int, seconds: Double, summary: String
)] {
    log("import: a demo company of \(customers) customers over 3 years, exported and imported ...")
    let source = directory + "/source"
    let demo = try timed(binary, ["demo", "--data", source, "--customers", String(customers), "--years", "3"])
    guard demo.status == 0 else { throw NSError(domain: "demo", code: 1) }
    for kind in ["customers", "interactions", "invoices"] {
        let export = try timed(binary, ["export", kind, "--output", "\(directory)/\(kind).csv", "--data", source])
        guard export.status == 0 else { throw NSError(domain: "export", code: 1) }
    }
    // The same staff and branches, hired and opened when they were, and those who left, gone.
    let target = try BenchDaemon(binary: binary, directory: directory + "/target")
    defer { target.stop() }
    let client = try LoadClient(path: target.socket)
    for (type, op) in [("BranchOpened", "branch.open"), ("AgentHired", "agent.hire"), ("AgentLeft", "agent.leave")] {
        let replay = try timed(binary, ["replay", "--data", source, "--type", type])
        for line in replay.output.split(separator: "\n") {
            guard let event = try? JSON.parse(String(line)), let data = event["data"] else { continue }
            var args = data
            if case .object(var members) = data {
                if members["at"] == nil { members["at"] = event["recordedAt"] }
                args = .object(members)
            }
            let request = JSON.object(["id": 1, "op": .string(op), "args": args])
            _ = client.roundTrip(request.bytes() + [10])
        }
    }
    var results: [(kind: String, rows: Int, seconds: Double, summary: String)] = []
    for kind in ["customers", "interactions", "invoices"] {
        let file = "\(directory)/\(kind).csv"
        let run = try timed(binary, ["import", kind, file, "--data", target.directory])
        let summary = run.output.split(separator: "\n").first.map(String.init) ?? run.output
        let rows = Int(summary.prefix { $0.isNumber }) ?? 0
        results.append((kind, rows, run.seconds, summary))
        log("  \(kind): \(summary) in \(String(format: "%.1f", run.seconds)) s")
    }
    return results
}
