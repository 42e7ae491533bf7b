import ArgumentParser
import EventStore
import Foundation
import Importer
import JSONKit
import KeyValue

extension ImportKind: ExpressibleByArgument {}
extension DuplicatePolicy: ExpressibleByArgument {}
extension TextEncoding: ExpressibleByArgument {}

/// `crmd import`: a company's history from spreadsheets, through the serving daemon when one is
/// up, else straight into the data directory; every row exactly once, however often it is run.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import customers, interactions or invoices from a CSV or XLSX file.",
        discussion: """
            Reads CSV (UTF-8 with or without BOM, UTF-16 as Excel's "Unicode text" writes it, or
            Windows-1256 as Excel's CSV on a Persian Windows writes it; detected, or --encoding)
            and XLSX. Headers in English or Persian are recognised (name/نام, phone/تلفن/موبایل,
            email/ایمیل, agent/کارشناس, source/منبع, tags/برچسب, registered/تاریخ ثبت, kind/نوع,
            address/آدرس, birthday/تاریخ تولد; customer/مشتری, type/نوع, date/تاریخ, direction,
            outcome/نتیجه, text/شرح; invoice number/شماره فاکتور, product/کالا, quantity/تعداد,
            unit price/فی, paid/پرداختی); a --mapping file names any others:
              {"columns": {"Mobile No.": "phone"}, "defaults": {"agent": "maryam"}}
            Dates may be Gregorian or Jalali (1402/01/15), digits Persian or Latin, amounts with
            thousands separators, in rials or --currency toman.

            Rows that cannot be imported go to the rejects file (default FILE.rejects.csv) with
            their row number, column and reason, in the file's language and encoding: fix them in
            Excel and import that file. Each row's request id derives from the file's content and
            the row number, so running the same file again writes nothing twice.

            Examples:
              crmd import customers customers.csv --data ./crm-data --dry-run
              crmd import customers مشتریان.xlsx --data ./crm-data --on-duplicate update
              crmd import interactions calls.csv --data ./crm-data --as maryam
              crmd import invoices invoices.csv --data ./crm-data --currency toman
            """)

    @OptionGroup var data: DataOptions

    @Argument(help: "What the file holds: customers, interactions or invoices.")
    var kind: ImportKind

    @Argument(help: "The CSV or XLSX file.")
    var file: String

    @Flag(help: "Check every row against the daemon's rules on a copy of the data; write nothing.")
    var dryRun = false

    @Option(help: ArgumentHelp("Where rejected rows go (default FILE.rejects.csv).", valueName: "FILE"))
    var rejects: String?

    @Option(help: ArgumentHelp("A JSON file naming columns and defaults.", valueName: "FILE"))
    var mapping: String?

    @Option(help: "A row whose customer exists: skip it, or update that customer.")
    var onDuplicate: DuplicatePolicy = .skip

    @Option(help: "The CSV's encoding, when detection guesses wrong (utf-8, utf-16le, utf-16be, windows-1256).")
    var encoding: TextEncoding?

    @Option(help: "The unit of the file's amounts: rial or toman.")
    var currency: String = "rial"

    @Option(help: "The time zone of dates without one.")
    var timeZone: String = "Asia/Tehran"

    @Option(name: .customLong("as"), help: "Import as this agent (admins and gateways).")
    var acting: String?

    @Option(help: ArgumentHelp("The daemon's socket (default DIR/crmd.sock).", valueName: "PATH"))
    var socket: String?

    @Option(help: "Rows sent together.")
    var window: Int = 1024

    func run() async throws {
        do {
            try await importFile()
        } catch {
            exitWithOneLine(error)
        }
    }

    /// The file's rows, and how to write a rejects file the user can open where they opened it.
    func readTable(_ bytes: [UInt8]) throws -> (rows: [[String]], encoding: TextEncoding, delimiter: Character) {
        if bytes.starts(with: [0x50, 0x4B, 0x03, 0x04]) {
            return (try XLSXFile.records(at: file), .utf8, ",")
        }
        let detected = TextEncoding.detect(bytes)
        let chosen = encoding ?? detected.encoding
        let decoded = chosen.decode(bytes.dropFirst(chosen == detected.encoding ? detected.bom : 0))
        let text = chosen == .windows1256 ? TextEncoding.persianLetters(decoded) : decoded
        let delimiter = CSVFile.delimiter(of: text)
        return (CSVFile.records(text, delimiter: delimiter), chosen, delimiter)
    }

    func importFile() async throws {
        guard let contents = FileManager.default.contents(atPath: file) else { throw CLIError("cannot read \(file)") }
        let bytes = [UInt8](contents)
        let (rows, fileEncoding, delimiter) = try readTable(bytes)
        guard let header = rows.first, rows.count > 1 else { throw CLIError("\(file) has no rows under its header") }
        var columnsMapping: [String: String] = [:]
        var defaults: [Field: String] = [:]
        if let mapping {
            guard let text = FileManager.default.contents(atPath: mapping), let json = try? JSON.parse([UInt8](text))
            else { throw CLIError("cannot read the mapping file \(mapping) as JSON") }
            for (header, field) in json["columns"]?.objectValue?.members ?? [] {
                columnsMapping[header] = field.stringValue ?? ""
            }
            for (name, value) in json["defaults"]?.objectValue?.members ?? [] {
                guard let field = Field(rawValue: name), let text = value.stringValue else {
                    throw CLIError("the mapping's defaults name \(name), which is not a field")
                }
                defaults[field] = text
            }
        }
        let columns: Columns
        do { columns = try Columns(headers: header, kind: kind, mapping: columnsMapping) } catch {
            throw CLIError("\(file): \(error)")
        }
        guard let zone = TimeZone(identifier: timeZone) else { throw CLIError("unknown time zone \(timeZone)") }
        let rialsPerUnit: Int64
        switch currency.lowercased() {
        case "rial", "irr", "ریال": rialsPerUnit = 1
        case "toman", "irt", "تومان": rialsPerUnit = 10
        default: throw CLIError("--currency is rial or toman, not \(currency)")
        }

        let (connection, cleanup) = try openConnection()
        let importer = Importer(
            kind: kind, table: rows, columns: columns, values: CellValues(timeZone: zone, rialsPerUnit: rialsPerUnit),
            defaults: defaults, connection: connection, fileHash: Importer.hash(bytes), onDuplicate: onDuplicate,
            window: window)
        let progress = Progress(total: rows.count - 1)
        let summary: ImportSummary
        do {
            summary = try await importer.run { done, total in progress.show(done, total) }
            try cleanup()
        } catch {
            try? cleanup()
            throw error
        }
        progress.finish()
        print((dryRun ? "dry run, nothing written: " : "") + summary.line)
        guard !summary.rejected.isEmpty else { return }
        let path = rejects ?? file + ".rejects.csv"
        let extra = columns.persian ? ["ردیف", "ستون", "علت"] : ["row", "column", "reason"]
        var sheet = [header + extra]
        for rejection in summary.rejected {
            let cells = rows[rejection.row - 1]
            let column = rejection.field.map { field in
                columns.column(of: field).map { header[$0] } ?? (columns.persian ? field.persian : field.rawValue)
            }
            sheet.append(
                cells + Array(repeating: "", count: max(0, header.count - cells.count))
                    + [String(rejection.row), column ?? "", rejection.reason(persian: columns.persian)])
        }
        let text = CSVFile.text(sheet, delimiter: delimiter)
        guard FileManager.default.createFile(atPath: path, contents: Data(fileEncoding.encode(text))) else {
            throw CLIError("cannot write the rejects file \(path)")
        }
        print("rejected rows are in \(path) (\(fileEncoding.rawValue)); fix them there and import that file")
    }

    /// The daemon when one serves the directory (and this is not a dry run), else the
    /// directory itself, or for a dry run a copy of it made the way `crmd backup` makes one.
    func openConnection() throws -> (CRMConnection, () throws -> Void) {
        let socketPath = socket ?? data.data + "/crmd.sock"
        if !dryRun, FileManager.default.fileExists(atPath: socketPath),
            let daemon = try? DaemonConnection(socket: socketPath, acting: acting)
        {
            FileHandle.standardError.write(Data("crmd: importing through the daemon on \(socketPath)\n".utf8))
            return (daemon, {})
        }
        guard dryRun else {
            let local = try LocalConnection(directory: data.data, acting: acting)
            return (local, { try local.close() })
        }
        let copy = NSTemporaryDirectory() + "crmd-dry-run-\(UUID().uuidString)"
        let manager = FileManager.default
        try manager.createDirectory(atPath: copy, withIntermediateDirectories: true)
        if manager.fileExists(atPath: data.logDirectory + "/data.mdb") {
            try BackupCommand.copy(data, to: copy, projections: true)
        } else if manager.fileExists(atPath: data.data + "/access.json") {
            try manager.copyItem(atPath: data.data + "/access.json", toPath: copy + "/access.json")
        }
        let local = try LocalConnection(directory: copy, acting: acting)
        return (
            local,
            {
                try local.close()
                try manager.removeItem(atPath: copy)
            }
        )
    }
}

/// The import's progress on stderr: a bar redrawn in place on a terminal (rows, rows/s, ETA),
/// a plain line at every tenth otherwise (a log file, CI).
final class Progress {
    let total: Int
    let started = Date()
    let terminal = isatty(STDERR_FILENO) == 1
    private var lastTenth = 0

    init(total: Int) { self.total = total }

    func show(_ done: Int, _ total: Int) {
        let elapsed = max(Date().timeIntervalSince(started), 0.001)
        let rate = Double(done) / elapsed
        if terminal {
            let width = 30
            let filled = total == 0 ? width : width * done / total
            let eta = rate > 0 ? Int(Double(total - done) / rate) : 0
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            let line = "\r\(bar) \(done)/\(total) rows  \(Int(rate)) rows/s  ETA \(eta / 60):\(String(format: "%02d", eta % 60)) "
            FileHandle.standardError.write(Data(line.utf8))
        } else {
            let tenth = total == 0 ? 10 : 10 * done / total
            guard tenth > lastTenth else { return }
            lastTenth = tenth
            FileHandle.standardError.write(
                Data("crmd: import \(tenth * 10)% (\(done)/\(total) rows, \(Int(rate)) rows/s)\n".utf8))
        }
    }

    func finish() {
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
