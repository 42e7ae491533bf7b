import ArgumentParser
import CRMEvents
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// `crmd replay`: prints recorded events, filtered, as JSON lines or a table.
struct ReplayCommand: ParsableCommand {
    /// A value as a table cell: text as it is, nothing for null, other JSON compact.
    static func cell(_ value: JSON?) -> String {
        switch value {
        case nil, .null?: ""
        case .string(let text)?: text
        case let other?: other.serialized()
        }
    }

    /// The customer file now or `--as-of`, folded from that customer's own events.
    func printCustomer(_ customerId: String) {
        do {
            let store = try openLogReadOnly(data)
            let keys = try KeyStore(directory: data.data + "/keys")
            let projector = try Projector(
                store: store, directory: data.data + "/projections", projections: Projections.all(keys: keys))
            let time = try asOf.map { text -> Timestamp in
                do { return try instant(text, "--as-of") } catch {
                    throw CLIError("--as-of: '\(text)' is not an RFC 3339 time or a date such as 2026-03-03T09:15:00Z")
                }
            }
            let business = try at.map { text -> Timestamp in
                do { return try instant(text, "--at") } catch {
                    throw CLIError("--at: '\(text)' is not an RFC 3339 time or a date such as 2026-01-01")
                }
            }
            let queries = CustomerQueries(projector: projector, keys: keys)
            if !diff.isEmpty {
                guard diff.count == 2, let from = Timestamp(rfc3339: diff[0]), let to = Timestamp(rfc3339: diff[1])
                else {
                    throw CLIError("--diff takes two RFC 3339 times: FROM TO")
                }
                let changes = try queries.history(customerId).filter { change in
                    guard let recorded = change["recordedAt"]?.stringValue.flatMap(Timestamp.init(rfc3339:)) else {
                        return false
                    }
                    return recorded >= from && recorded <= to
                }
                let table = TableWriter(columns: ["recordedAt", "at", "by", "field", "old", "new"])
                for change in changes {
                    table.add([
                        change["recordedAt"]?.stringValue ?? "", change["at"]?.stringValue ?? "",
                        change["by"]?.stringValue ?? "",
                        change["field"]?.stringValue ?? "",
                        ReplayCommand.cell(change["old"]), ReplayCommand.cell(change["new"]),
                    ])
                }
                table.print()
                return
            }
            print(try queries.answer(customerId, asOf: time, at: business).pretty())
        } catch let error as WireError {
            exitWithOneLine(CLIError(error.message))
        } catch {
            exitWithOneLine(error)
        }
    }

    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print events from the log as JSON lines or a table.",
        discussion: """
            Reads the log in short batches, so it is safe on a directory a daemon serves.
            Filters combine: --from/--to bound positions, --since/--until the time the log stored
            an event; --stream, --type and --actor select by name.

            With --customer ID the customer file is printed instead, folded from that customer's
            own events; with --as-of TIME exactly as the log knew it then; with --at TIME as things
            stood then by business time (both: what the log believed at --as-of about --at); with
            --diff FROM TO every field change recorded in between, who made it, when it happened,
            the old and the new value.

            Examples:
              crmd replay --data ./crm-data --from 1 --to 100
              crmd replay --customer c42 --as-of 2026-03-03T12:00:00Z
              crmd replay --customer c42 --at 2026-01-01 --as-of 2026-03-01
              crmd replay --customer c42 --diff 2026-03-01T00:00:00Z 2026-03-31T23:59:59Z
              crmd replay --stream customer-c42 --until 2026-03-03T23:59:59Z --format table
              crmd replay --actor maryam --since 2026-03-01T00:00:00Z --format table
            """)

    /// How events are printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case jsonl, table
    }

    @OptionGroup var data: DataOptions

    @Option(help: "First position to print.")
    var from: UInt64 = 1

    @Option(help: "Last position to print.")
    var to: UInt64?

    @Option(help: ArgumentHelp("Only events the log stored at or before this RFC 3339 time.", valueName: "TIME"))
    var until: String?

    @Option(help: ArgumentHelp("Only events the log stored at or after this RFC 3339 time.", valueName: "TIME"))
    var since: String?

    @Option(help: "Only events of this stream.")
    var stream: String?

    @Option(help: "Only events caused by this principal (an agent id, admin, …).")
    var actor: String?

    @Option(help: "Only events of this type.")
    var type: String?

    @Option(help: "jsonl (one envelope per line) or table.")
    var format: Format = .jsonl

    @Option(help: "Print this customer's file instead of events (with --as-of: as it stood then).")
    var customer: String?

    @Option(
        name: .customLong("as-of"),
        help: ArgumentHelp(
            "With --customer: the file as the log knew it at this RFC 3339 time (a date: its end).", valueName: "TIME"))
    var asOf: String?

    @Option(
        help: ArgumentHelp(
            "With --customer: the file as things stood at this business time, by everything the log knew (then, with --as-of).",
            valueName: "TIME"))
    var at: String?

    @Option(
        name: .customLong("diff"), parsing: .upToNextOption,
        help: ArgumentHelp(
            "With --customer: every field change between two RFC 3339 times, with who made it.", valueName: "FROM TO"))
    var diff: [String] = []

    func run() throws {
        if let customer {
            return printCustomer(customer)
        }
        do {
            let store = try openLogReadOnly(data)
            var last = to.map(Position.init(rawValue:)) ?? .max
            var first = Position(rawValue: from)
            if let since {
                guard let time = Timestamp(rfc3339: since) else {
                    throw CLIError("--since: '\(since)' is not an RFC 3339 time such as 2026-03-03T09:15:00Z")
                }
                // The first event stored at or after `since` follows the last one stored before it.
                first = max(
                    first,
                    try store.position(asOf: Timestamp(microsecondsSince1970: time.microsecondsSince1970 - 1)) + 1)
            }
            if let until {
                guard let time = Timestamp(rfc3339: until) else {
                    throw CLIError("--until: '\(until)' is not an RFC 3339 time such as 2026-03-03T09:15:00Z")
                }
                last = min(last, try store.position(asOf: time))
            }
            let table = TableWriter(columns: ["position", "recorded at", "stream", "version", "type", "actor"])
            let emit: (RecordedEvent) -> Void = { event in
                if let actor, event.actor.principal != actor { return }
                switch format {
                case .jsonl: print(Envelope.line(event))
                case .table:
                    table.add([
                        event.position.description, event.recordedAt.rfc3339, event.stream.rawValue,
                        event.version.description,
                        event.type, event.actor.description,
                    ])
                }
            }
            if let stream {
                var version: StreamVersion = 1
                while true {
                    let batch = try store.readStream(StreamName(stream), from: version, limit: 1024)
                    for event in batch
                    where event.position >= first && event.position <= last && (type == nil || event.type == type) {
                        emit(event)
                    }
                    guard let tail = batch.last, tail.position <= last, batch.count == 1024 else { break }
                    version = tail.version + 1
                }
            } else {
                try store.scan(from: first, to: last) { event in
                    if type == nil || event.type == type { emit(event) }
                    return true
                }
            }
            if format == .table { table.print() }
        } catch {
            exitWithOneLine(error)
        }
    }
}
