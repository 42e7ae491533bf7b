import ArgumentParser
import EventStore
import Foundation
import Importer
import JSONKit
import KeyValue

/// `crmd export`: customers, interactions or invoices for people (CSV for Excel, XLSX) and
/// machines (JSON lines), and one customer's subject-access package.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export customers, interactions or invoices, or everything about one customer.",
        discussion: """
            Sheets have the headers crmd import reads, so an export imports cleanly elsewhere;
            CSV starts with a UTF-8 BOM so Excel shows Persian. Customers whose data was erased
            (customer.forget) are left out. `export customer ID` writes one JSON document for a
            data-protection request: the file and every event about the customer with personal
            data opened, when it happened, when and by whom it was recorded. It reads the log
            read-only, so it is safe while a daemon serves the directory.

            Examples:
              crmd export customers --format xlsx --output customers.xlsx --data ./crm-data
              crmd export invoices --persian --output فاکتورها.csv --data ./crm-data
              crmd export customer c42 --output c42.json --data ./crm-data
            """)

    /// The export formats.
    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, xlsx, jsonl
    }

    @OptionGroup var data: DataOptions

    @Argument(help: "customers, interactions, invoices, or customer (with ID).")
    var what: String

    @Argument(help: "With `customer`: the customer's id.")
    var id: String?

    @Option(help: "csv, xlsx or jsonl.")
    var format: Format = .csv

    @Option(help: ArgumentHelp("The file to write (default: standard output).", valueName: "FILE"))
    var output: String?

    @Flag(help: "Persian headers (and a right-to-left sheet in XLSX).")
    var persian = false

    func run() throws {
        do {
            let store = try openLogReadOnly(data)
            defer { store.close() }
            let keys = try KeyStore(directory: data.data + "/keys")
            defer { keys.close() }
            let exporter = try Exporter(store: store, keys: keys)
            let bytes: Data
            if what == "customer" {
                guard let id else { throw CLIError("export customer takes the customer's id") }
                do {
                    bytes = Data((try exporter.subjectAccess(id, generatedAt: .now()).pretty() + "\n").utf8)
                } catch {
                    throw CLIError(error.description)
                }
            } else {
                guard let kind = ImportKind(rawValue: what) else {
                    throw CLIError("export customers, interactions, invoices or customer ID, not \(what)")
                }
                switch format {
                case .csv:
                    bytes = Data(TextEncoding.utf8.encode(CSVFile.text(exporter.sheet(kind, persian: persian))))
                case .xlsx:
                    bytes = try XLSXFile.workbook(
                        exporter.sheet(kind, persian: persian), sheetName: kind.rawValue, rightToLeft: persian)
                case .jsonl:
                    bytes = Data(exporter.records(kind).map { $0.serialized() + "\n" }.joined().utf8)
                }
            }
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: bytes) else {
                    throw CLIError("cannot write \(output)")
                }
            } else {
                FileHandle.standardOutput.write(bytes)
            }
        } catch {
            exitWithOneLine(error)
        }
    }
}
