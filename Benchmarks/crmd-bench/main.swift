// `make bench`: the event store against raw LMDB and SQLite on the same machine, in one run.
//
// Every figure is measured here, now, beside its baseline, so ratios survive a noisy machine.
// Each load loop is bounded both in events and in seconds.
import EventStore
import Foundation

let arguments = BenchArguments(CommandLine.arguments.dropFirst())
let scratch = NSTemporaryDirectory() + "crmd-bench-\(getpid())"
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }

let payload = BenchPayload.make(size: arguments.payloadSize)
var appendRows: [AppendRow] = []
var counter = 0
for appenders in arguments.concurrency where arguments.runs("appends") {
    counter += 1
    let directory = "\(scratch)/store-\(counter)"
    log("store: \(appenders) concurrent appenders ...")
    let store = try await measureStore(
        directory: directory, appenders: appenders, payload: payload,
        maxEvents: arguments.events(for: appenders), maxSeconds: arguments.seconds,
        mergeThreshold: arguments.mergeThreshold)
    let batch = max(1, Int(store.eventsPerCommit.rounded()))
    log(
        "  \(Int(store.rate)) events/s, \(String(format: "%.1f", store.eventsPerCommit)) events/commit; raw LMDB, batch \(batch) ..."
    )
    let raw = try measureRawLMDB(
        directory: "\(scratch)/raw-\(counter)", batch: batch, valueSize: payload.storedSize,
        maxEvents: store.events, maxSeconds: arguments.seconds)
    log("  raw LMDB \(Int(raw.rate)) events/s; SQLite, batch \(batch) ...")
    let sqlite = try measureSQLite(
        path: "\(scratch)/sqlite-\(counter).db", batch: batch, valueSize: payload.storedSize,
        maxEvents: store.events, maxSeconds: arguments.seconds)
    log("  SQLite \(Int(sqlite.rate)) events/s; SQLite with streams, batch \(batch) ...")
    let sqliteStreams = try measureSQLite(
        path: "\(scratch)/sqlite-streams-\(counter).db", batch: batch, valueSize: payload.storedSize,
        maxEvents: store.events, maxSeconds: arguments.seconds, streams: appenders)
    log("  SQLite with streams \(Int(sqliteStreams.rate)) events/s")
    appendRows.append(
        AppendRow(appenders: appenders, store: store, raw: raw, sqlite: sqlite, sqliteStreams: sqliteStreams))
}

let commandClients = arguments.concurrency.max() ?? 256
if arguments.only != nil { try await partialRun(arguments) }
let commands = try await runCommands(arguments)
let socketRows = try await runSocket(arguments)

log("read: building a log of \(arguments.readEvents) events ...")
let read = try await measureRead(directory: "\(scratch)/read", events: arguments.readEvents, payload: payload)
log("  decoded \(Int(read.decodedRate)) events/s, raw scan \(Int(read.rawRate)) events/s")

let verify = try measureVerify(directory: "\(scratch)/read")
log("  verify \(Int(verify)) events/s")

let projections = try await runProjections(arguments)

log("scaling: one log grown to \(arguments.scalingSizes) events; appends, rebuild and customer.get at each size ...")
let scaling =
    arguments.scalingSizes.isEmpty
    ? []
    : try await measureScaling(
        directory: "\(scratch)/scaling", sizes: arguments.scalingSizes,
        seconds: min(arguments.seconds, 4))
try? FileManager.default.removeItem(atPath: "\(scratch)/scaling")

let imports = try runImport(arguments)
let pages = try runWeb(arguments)
let shipping = try await runShip(arguments)

let report = BenchReport(
    arguments: arguments, payload: payload, appends: appendRows, commands: commands,
    commandClients: commandClients, socket: socketRows, read: read, verifyRate: verify,
    projections: projections, scaling: scaling, imports: imports, pages: pages, shipping: shipping
).markdown()
print(report)
if let output = arguments.output {
    // `make proof` keeps its own section in the same file; a new bench run leaves it in place.
    var text = report
    if let previous = try? String(contentsOfFile: output, encoding: .utf8), let proof = previous.range(of: "## Proof") {
        text += "\n" + previous[proof.lowerBound...]
    }
    try text.write(toFile: output, atomically: true, encoding: .utf8)
    log("wrote \(output)")
}

/// `note.add` through the command service from as many agents as the highest concurrency.
func runCommands(_ arguments: BenchArguments) async throws -> CommandMeasurement {
    let clients = arguments.concurrency.max() ?? 256
    log("commands: note.add from \(clients) concurrent agents ...")
    let commands = try await measureCommands(
        directory: "\(scratch)/commands", clients: clients,
        maxCommands: arguments.maxEvents / 5, maxSeconds: arguments.seconds)
    log("  \(Int(commands.rate)) commands/s, p99 \(String(format: "%.2f", commands.p99 * 1000)) ms")
    return commands
}

/// `note.add` through the real daemon, built beside this binary.
func runSocket(_ arguments: BenchArguments) async throws -> [SocketMeasurement] {
    log(
        "socket: note.add through crmd serve at \(arguments.connections.map(String.init).joined(separator: ", ")) connections ..."
    )
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "crmd"
    ).path
    var rows = try measureSocket(
        directory: "\(scratch)/socket", binary: binary, connectionCounts: arguments.connections,
        maxCommands: arguments.maxEvents / 5, maxSeconds: arguments.seconds)
    // The store's own group commit at each connection count, for the ratio beside each row.
    for index in rows.indices {
        let appenders = rows[index].connections
        let store = try await measureStore(
            directory: "\(scratch)/socket-store-\(appenders)", appenders: appenders, payload: payload,
            maxEvents: arguments.events(for: appenders), maxSeconds: arguments.seconds,
            mergeThreshold: arguments.mergeThreshold)
        rows[index].storeRate = store.rate
        log("  store alone at \(appenders) appenders: \(Int(store.rate)) events/s")
    }
    return rows
}

/// `crmd import` through the daemon beside the daemon's `customer.register` rate, and a demo
/// company's history brought into an empty one.
func runImport(_ arguments: BenchArguments) throws -> ImportMeasurement {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "crmd"
    ).path
    defer { try? FileManager.default.removeItem(atPath: "\(scratch)/import") }
    return try measureImport(
        directory: "\(scratch)/import", binary: binary, rows: arguments.importRows,
        connections: arguments.connections.max() ?? 128, maxSeconds: arguments.seconds,
        historyCustomers: arguments.historyCustomers)
}

/// The log shipped to PostgreSQL beside PostgreSQL's own COPY, and the shipper's lag under load.
func runShip(_ arguments: BenchArguments) async throws -> ShipMeasurement {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "crmd"
    ).path
    defer { try? FileManager.default.removeItem(atPath: "\(scratch)/ship") }
    return try await measureShipping(
        directory: "\(scratch)/ship", binary: binary, events: arguments.shipEvents, rate: 1_000,
        seconds: min(arguments.seconds, 10))
}

/// The front desk's pages on a demo company, each beside its bare socket query.
func runWeb(_ arguments: BenchArguments) throws -> [PageMeasurement] {
    let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
        "crmd"
    ).path
    defer { try? FileManager.default.removeItem(atPath: "\(scratch)/web") }
    return try measurePages(
        directory: "\(scratch)/web", binary: binary, customers: arguments.historyCustomers,
        connectionCounts: [1, 16, 64], maxSeconds: min(arguments.seconds, 5))
}

/// A demo company's history, then rebuilds at each of the rebuild sizes.
func runProjections(_ arguments: BenchArguments) async throws -> ProjectionMeasurement {
    log("projections: a demo company's history, then rebuilds at \(arguments.rebuildSizes) events ...")
    return try await measureProjections(directory: "\(scratch)/demo", sizes: arguments.rebuildSizes)
}

/// Runs only the parts `--only` names, logging their figures; the report needs every part, so none is written.
func partialRun(_ arguments: BenchArguments) async throws -> Never {
    if arguments.runs("read") {
        let read = try await measureRead(directory: "\(scratch)/read", events: arguments.readEvents, payload: payload)
        log(
            "read: decoded \(Int(read.decodedRate)) events/s, raw \(Int(read.rawRate)) events/s (\(String(format: "%.1f", 100 * read.decodedRate / read.rawRate))%)"
        )
    }
    if arguments.runs("commands") { _ = try await runCommands(arguments) }
    if arguments.runs("socket") { _ = try await runSocket(arguments) }
    if arguments.runs("projections") { _ = try await runProjections(arguments) }
    if arguments.runs("import") { _ = try runImport(arguments) }
    if arguments.runs("web") { _ = try runWeb(arguments) }
    if arguments.runs("ship") { _ = try await runShip(arguments) }
    if arguments.runs("scaling") {
        log("scaling: one log grown to \(arguments.scalingSizes) events ...")
        _ = try await measureScaling(
            directory: "\(scratch)/scaling", sizes: arguments.scalingSizes, seconds: min(arguments.seconds, 4))
    }
    try? FileManager.default.removeItem(atPath: scratch)
    exit(0)
}

/// Progress on stderr, so stdout stays the report.
func log(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
