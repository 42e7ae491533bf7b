import ArgumentParser
import CRMEvents
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// `crmd report NAME [ARGS]`: any report as a table, CSV or JSON.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Print a report as an aligned table, CSV or JSON.",
        discussion: """
            NAME is one of: sales, quotes, daily, dormant, receivables, workload, targets, branches,
            funnel, agenda, view (the queries report.*, funnel.report, agent.agenda, agent.view of
            docs/protocol.md). ARGS are the query's arguments as JSON. On a directory a daemon
            serves the daemon answers; otherwise the projections are brought up to date here.
            Tables align Persian text; CSV follows RFC 4180.

            Examples:
              crmd report sales '{"from": "2023-03-21T00:00:00Z", "to": "2024-03-20T00:00:00Z", "groupBy": ["month", "agent"]}' --calendar persian
              crmd report dormant '{"days": 60}' --format csv > dormant.csv
            """)

    /// How the report is printed.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case table, csv, json
    }

    @OptionGroup var data: DataOptions

    @Argument(help: "The report.")
    var name: String

    @Argument(help: "Its arguments as JSON.")
    var args: String = "{}"

    @Option(help: "table, csv or json.")
    var format: Format = .table

    @Option(help: "gregorian or persian (for reports that group or count by calendar).")
    var calendar: String?

    static let ops = [
        "sales": "report.sales", "quotes": "report.quotes", "daily": "report.daily", "dormant": "report.dormant",
        "receivables": "report.receivables", "workload": "report.workload", "targets": "report.targets",
        "branches": "report.branches", "funnel": "funnel.report", "agenda": "agent.agenda", "view": "agent.view",
    ]

    func run() throws {
        do {
            guard let op = ReportCommand.ops[name] else {
                throw CLIError(
                    "no report \(name); there are \(ReportCommand.ops.keys.sorted().joined(separator: ", "))")
            }
            guard case .object(var arguments) = try JSON.parse(args) else {
                throw CLIError("ARGS must be a JSON object")
            }
            if let calendar { arguments["calendar"] = .string(calendar) }
            let result = try answer(op, .object(arguments))
            switch format {
            case .json: print(result.pretty())
            case .csv: print(ReportCommand.csv(ReportCommand.rows(result)), terminator: "")
            case .table:
                let (columns, rows) = ReportCommand.rows(result)
                let table = TableWriter(columns: columns)
                rows.forEach(table.add)
                table.print()
            }
        } catch let error as JSONParseError {
            exitWithOneLine(CLIError("ARGS is not JSON: \(error)"))
        } catch {
            exitWithOneLine(error)
        }
    }

    /// The query's result, from the daemon when one serves the directory, else computed here.
    private func answer(_ op: String, _ arguments: JSON) throws -> JSON {
        if let client = try? SocketClient(path: data.data + "/crmd.sock") {
            let response = try client.roundTrip(.object(["id": 1, "op": .string(op), "args": arguments]))
            guard response["ok"] == true, let result = response["result"] else {
                throw CLIError(
                    "\(response["error"]?["code"]?.stringValue ?? "error"): \(response["error"]?["message"]?.stringValue ?? "")"
                )
            }
            return result
        }
        let store = try openLogReadOnly(data)
        let keys = try KeyStore(directory: data.data + "/keys")
        let projector = try Projector(
            store: store, directory: data.data + "/projections", projections: Projections.all(keys: keys))
        defer { projector.close(); keys.close(); store.close() }
        do {
            return try CRMQueries(projector: projector, keys: keys).run(op, arguments)
        } catch let error as WireError {
            throw CLIError("\(error.code): \(error.message)")
        }
    }

    /// The report's main list as columns and rows: nested objects become `a.b` columns, lists JSON.
    static func rows(_ result: JSON) -> (columns: [String], rows: [[String]]) {
        let listKeys = ["rows", "stages", "customers", "invoices", "agents", "targets", "branches", "followups"]
        let list = listKeys.lazy.compactMap { result[$0]?.arrayValue }.first ?? [result]
        var columns: [String] = []
        var flat: [[String: String]] = []
        for item in list {
            var cells: [String: String] = [:]
            func add(_ prefix: String, _ value: JSON) {
                switch value {
                case .object(let object):
                    for member in object.members {
                        add(prefix.isEmpty ? member.key : "\(prefix).\(member.key)", member.value)
                    }
                default:
                    if !columns.contains(prefix) { columns.append(prefix) }
                    switch value {
                    case .string(let text): cells[prefix] = text
                    case .null: cells[prefix] = ""
                    default: cells[prefix] = value.serialized()
                    }
                }
            }
            add("", item)
            flat.append(cells)
        }
        return (columns, flat.map { row in columns.map { row[$0] ?? "" } })
    }

    /// RFC 4180 CSV: fields with a comma, quote or line break are quoted, quotes doubled.
    static func csv(_ table: (columns: [String], rows: [[String]])) -> String {
        func field(_ text: String) -> String {
            text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
        }
        return ([table.columns] + table.rows).map { $0.map(field).joined(separator: ",") + "\r\n" }.joined()
    }
}
