import Foundation
import Importer
import JSONKit
import XCTest

/// `crmd import` against a real daemon (and offline), with files as Excel and LibreOffice write
/// them: the rows land once, the rejects file names the right rows in the file's own language
/// and encoding, a second run writes nothing, a run killed half-way and run again leaves each
/// row exactly once.
final class ImportTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ImporterTests/Fixtures").path

    func crmd(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        try runCrmd(arguments)
    }

    /// A copy of a fixture in a scratch directory (so the rejects file lands there).
    func copy(_ name: String) throws -> String {
        let directory = NSTemporaryDirectory() + "crmd-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.copyItem(atPath: ImportTests.fixtures + "/" + name, toPath: directory + "/" + name)
        return directory + "/" + name
    }

    func staffed(_ daemon: DaemonProcess) throws -> Connection {
        let c = try daemon.connect()
        for agent in [#""agentId": "maryam", "name": "مریم رضایی""#, #""agentId": "ali", "name": "علی محمدی""#] {
            XCTAssertEqual(c.call("agent.hire", #"{\#(agent), "role": "agent", "at": "2020-01-01T00:00:00Z"}"#)["ok"], true)
        }
        return c
    }

    /// How many customers the log has registered.
    func registered(_ c: Connection) -> Int {
        var count = 0
        var from = 1
        while true {
            let events = c.call("log.read", #"{"from": \#(from), "limit": 1000}"#)["result"]?["events"]?.arrayValue ?? []
            if events.isEmpty { return count }
            count += events.filter { $0["type"] == "CustomerRegistered" }.count
            from += events.count
        }
    }

    func head(_ c: Connection) -> Int64? { c.call("system.status")["result"]?["head"]?["position"]?.intValue }

    func customer(_ c: Connection, phone: String) -> JSON? {
        let found = c.call("customer.find", #"{"phone": "\#(phone)"}"#)["result"]?["customers"]?.arrayValue ?? []
        guard found.count == 1, let id = found[0]["customerId"]?.stringValue else { return nil }
        return c.call("customer.get", #"{"customerId": "\#(id)"}"#)["result"]
    }

    func testExcelsPersianCSVThroughTheDaemonOnceWithRejectsToFixAndReRun() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        let file = try copy("customers-excel-1256.csv")
        let first = try crmd(["import", "customers", file, "--data", daemon.directory])
        XCTAssertEqual(first.status, 0, first.errors)
        XCTAssertTrue(first.errors.contains("importing through the daemon"), first.errors)
        XCTAssertTrue(
            first.output.contains("10 rows: 4 imported, 0 updated, 2 skipped as duplicates, 0 already imported, 4 rejected"),
            first.output)

        let reza = try XCTUnwrap(customer(c, phone: "09123456789"))
        XCTAssertEqual(reza["name"], "رضا رضایی", "Excel's Arabic yeh is Persian again")
        XCTAssertEqual(reza["tags"], .array(["VIP", "عمده"]))
        XCTAssertEqual(reza["registeredAt"], "2023-04-04T08:30:00.000000Z", "15 Farvardin 1402, noon in Tehran")
        XCTAssertEqual(reza["emails"], .array(["reza@example.ir"]))
        XCTAssertEqual(customer(c, phone: "02144445555")?["kind"], "organisation")
        XCTAssertEqual(customer(c, phone: "09121112222")?["name"], "شرکت پارس\u{200C}پخش")

        // The rejects file: Windows-1256 like the input, Persian reasons, the right rows.
        let rejectsBytes = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: file + ".rejects.csv")))
        XCTAssertEqual(TextEncoding.detect(rejectsBytes).encoding, .windows1256)
        let rejects = CSVFile.records(TextEncoding.persianLetters(TextEncoding.windows1256.decode(rejectsBytes)))
        XCTAssertEqual(Array(rejects[0].suffix(3)), ["ردیف", "ستون", "علت"])
        XCTAssertEqual(rejects.dropFirst().map { $0[9] }, ["5", "6", "7", "10"])
        XCTAssertEqual(rejects.dropFirst().map { $0[10] }, ["نام", "ایمیل", "تاریخ ثبت", "کارشناس"])
        XCTAssertTrue(rejects[2][11].contains("ali-at-example"), rejects[2][11])

        // A second run writes nothing.
        let before = head(c)
        let second = try crmd(["import", "customers", file, "--data", daemon.directory])
        XCTAssertTrue(
            second.output.contains("10 rows: 0 imported, 0 updated, 2 skipped as duplicates, 4 already imported, 4 rejected"),
            second.output)
        XCTAssertEqual(head(c), before)

        // Fixed in the spreadsheet and imported again: only those rows.
        var fixed = rejects.map { Array($0.prefix(9)) }
        fixed[1][0] = "سارا سعیدی"
        fixed[2][2] = "ali@example.ir"
        fixed[3][6] = "1402/12/29"
        fixed[4][3] = "ali"
        let fixedPath = file + ".fixed.csv"
        FileManager.default.createFile(
            atPath: fixedPath, contents: Data(TextEncoding.windows1256.encode(CSVFile.text(fixed))))
        let third = try crmd(["import", "customers", fixedPath, "--data", daemon.directory])
        XCTAssertTrue(third.output.contains("4 rows: 4 imported, 0 updated, 0 skipped as duplicates"), third.output)
        XCTAssertEqual(customer(c, phone: "09351234567")?["registeredAt"], "2024-03-19T08:30:00.000000Z")
        XCTAssertEqual(customer(c, phone: "09350001112")?["agentId"], "ali")
    }

    func testUnicodeTextInteractionsAndALibreOfficeInvoiceBook() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        _ = try crmd(["import", "customers", try copy("customers-excel-1256.csv"), "--data", daemon.directory])

        let calls = try copy("interactions-unicode-text.txt")
        let logged = try crmd(["import", "interactions", calls, "--data", daemon.directory])
        XCTAssertTrue(logged.output.contains("6 rows: 4 imported, 0 updated, 0 skipped as duplicates, 0 already imported, 2 rejected"), logged.output + logged.errors)
        let reza = try XCTUnwrap(customer(c, phone: "09123456789"))
        let interactions = reza["interactions"]?.arrayValue ?? []
        XCTAssertEqual(interactions.map { $0["kind"]?.stringValue }, ["call", "sms"])
        XCTAssertEqual(interactions.first?["at"], "2023-04-21T07:00:00.000000Z", "۱۴۰۲/۰۲/۰۱ ۱۰:۳۰ in Tehran")
        XCTAssertEqual(interactions.first?["text"], "قیمت چاپگر را پرسید")
        let rejects = CSVFile.records(
            TextEncoding.utf16LE.decode(
                [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: calls + ".rejects.csv"))).dropFirst(2)))
        XCTAssertEqual(rejects.dropFirst().map { $0[7] }, ["6", "7"], "UTF-16 again, tab-separated, rows 6 and 7")
        XCTAssertTrue(rejects[1][9].contains("09129999999"), rejects[1][9])

        let book = try copy("invoices-libreoffice.xlsx")
        let invoiced = try crmd(["import", "invoices", book, "--data", daemon.directory])
        XCTAssertTrue(invoiced.output.contains("5 rows: 4 imported, 0 updated, 0 skipped as duplicates, 0 already imported, 1 rejected"), invoiced.output + invoiced.errors)
        let sales = c.call(
            "report.sales",
            #"{"from": "2023-06-01T00:00:00Z", "to": "2023-09-01T00:00:00Z", "groupBy": ["month"], "calendar": "persian"}"#)
        XCTAssertEqual(
            sales["result"]?["rows"]?.arrayValue?.map { [$0["group"]?["month"], $0["amount"]?["IRR"]] },
            [["1402-03", 550_000_000], ["1402-04", 120_000_000], ["1402-05", 260_000_000]],
            "back-dated invoices in their Persian months: Khordad, Tir, Mordad 1402")
        let again = try crmd(["import", "invoices", book, "--data", daemon.directory])
        XCTAssertTrue(again.output.contains("0 imported, 0 updated, 0 skipped as duplicates, 4 already imported, 1 rejected"), again.output)
    }

    func testAnImportKilledHalfWayAndRunAgainWritesEveryRowOnce() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        let directory = NSTemporaryDirectory() + "crmd-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let rows = 2_000
        var csv = "name,phone,agent,registered\r\n"
        for n in 0..<rows { csv += "مشتری \(n),0912\(String(format: "%07d", n)),maryam,1401/0\(n % 9 + 1)/1\(n % 9)\r\n" }
        let file = directory + "/many.csv"
        FileManager.default.createFile(atPath: file, contents: Data(csv.utf8))

        let process = Process()
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
        process.arguments = ["import", "customers", file, "--data", daemon.directory, "--window", "16"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = Pipe()
        try process.run()
        var seen = ""
        let deadline = Date().addingTimeInterval(60)
        while !seen.contains("import 30%"), Date() < deadline, process.isRunning {
            seen += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .uncaughtSignal, "killed half-way: \(seen)")
        let afterKill = registered(c)
        XCTAssertGreaterThan(afterKill, 0)
        XCTAssertLessThan(afterKill, rows, "the kill came before the end")

        let rerun = try crmd(["import", "customers", file, "--data", daemon.directory])
        XCTAssertEqual(rerun.status, 0, rerun.errors)
        XCTAssertTrue(rerun.output.contains("\(rows) rows: \(rows - afterKill) imported"), rerun.output)
        XCTAssertTrue(rerun.output.contains("\(afterKill) already imported"), rerun.output)
        XCTAssertEqual(registered(c), rows, "every row exactly once")
        XCTAssertEqual(
            c.call("customer.find", #"{"phone": "09120001999"}"#)["result"]?["total"], 1, "no twin of the last row")
    }

    func testADryRunWritesNothingAndAnOfflineImportMatchesTheDaemons() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        let file = try copy("customers-excel-1256.csv")
        let before = head(c)
        let dry = try crmd(["import", "customers", file, "--data", daemon.directory, "--dry-run"])
        XCTAssertEqual(dry.status, 0, dry.errors)
        XCTAssertTrue(
            dry.output.contains("dry run, nothing written: 10 rows: 4 imported, 0 updated, 2 skipped as duplicates, 0 already imported, 4 rejected"),
            dry.output)
        XCTAssertEqual(head(c), before, "the log did not move")
        XCTAssertEqual(c.call("customer.find", #"{"phone": "09123456789"}"#)["result"]?["total"], 0)

        // With the daemon stopped, the same import goes straight into the directory.
        daemon.stop()
        let offline = try crmd(["import", "customers", file, "--data", daemon.directory])
        XCTAssertFalse(offline.errors.contains("through the daemon"), offline.errors)
        XCTAssertTrue(offline.output.contains("10 rows: 4 imported, 0 updated, 2 skipped as duplicates, 0 already imported, 4 rejected"), offline.output + offline.errors)
        let served = try DaemonProcess(self, directory: daemon.directory)
        defer { served.stop() }
        let again = try served.connect()
        XCTAssertEqual(customer(again, phone: "09123456789")?["name"], "رضا رضایی")
        XCTAssertEqual(again.call("customer.find", #"{"email": "nava@example.ir"}"#)["result"]?["total"], 1)
    }

    func testDuplicatesUpdateTheCustomerWhenAsked() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        let directory = NSTemporaryDirectory() + "crmd-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        XCTAssertEqual(
            c.call("customer.register", #"{"customerId": "old", "name": "کیان", "phones": ["09121110000"], "agentId": "ali"}"#)["ok"], true)
        let file = directory + "/update.csv"
        let csv = "name,phone,email,address,agent\r\nکیان,+98 912 111 0000,kian@example.ir,اصفهان,maryam\r\nکیان,0912 111 0000,,,maryam\r\n"
        FileManager.default.createFile(atPath: file, contents: Data(csv.utf8))
        let run = try crmd(["import", "customers", file, "--data", daemon.directory, "--on-duplicate", "update"])
        XCTAssertTrue(run.output.contains("2 rows: 0 imported, 1 updated, 1 skipped as duplicates"), run.output + run.errors)
        let kian = c.call("customer.get", #"{"customerId": "old"}"#)["result"]
        XCTAssertEqual(kian?["phones"], .array(["09121110000"]), "the same number is not added twice")
        XCTAssertEqual(kian?["emails"], .array(["kian@example.ir"]))
        XCTAssertEqual(kian?["address"], "اصفهان")
        XCTAssertEqual(kian?["agentId"], "ali", "an update does not reassign")
        XCTAssertEqual(c.call("customer.find", #"{"phone": "09121110000"}"#)["result"]?["total"], 1, "never a twin")
    }
}

extension ImportTests {
    func testExportThenImportIntoAnEmptyDirectoryGivesTheSameCustomers() throws {
        let source = try DaemonProcess(self)
        let a = try staffed(source)
        _ = try crmd(["import", "customers", try copy("customers-excel-1256.csv"), "--data", source.directory])
        _ = try crmd(["import", "interactions", try copy("interactions-unicode-text.txt"), "--data", source.directory])
        _ = try crmd(["import", "invoices", try copy("invoices-libreoffice.xlsx"), "--data", source.directory])
        let scratch = NSTemporaryDirectory() + "crmd-export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: scratch) }
        // Exported while the daemon serves: CSV for customers and interactions, XLSX for invoices.
        for (kind, format) in [("customers", "csv"), ("interactions", "csv"), ("invoices", "xlsx")] {
            let export = try crmd([
                "export", kind, "--format", format, "--output", "\(scratch)/\(kind).\(format)", "--data", source.directory,
            ])
            XCTAssertEqual(export.status, 0, export.errors)
        }
        let csv = [UInt8](try XCTUnwrap(FileManager.default.contents(atPath: scratch + "/customers.csv")))
        XCTAssertEqual(Array(csv.prefix(3)), [0xEF, 0xBB, 0xBF], "a BOM, so Excel shows Persian")

        let target = try DaemonProcess(self)
        let b = try staffed(target)
        for (kind, format) in [("customers", "csv"), ("interactions", "csv"), ("invoices", "xlsx")] {
            let run = try crmd(["import", kind, "\(scratch)/\(kind).\(format)", "--data", target.directory])
            XCTAssertTrue(run.output.contains(" 0 rejected"), "\(kind): \(run.output) \(run.errors)")
        }
        let ids = CSVFile.records(TextEncoding.utf8.decode(csv.dropFirst(3))).dropFirst().map { $0[0] }
        XCTAssertEqual(ids.count, 4, "the four customers the fixture imports")
        for id in ids {
            let before = try XCTUnwrap(a.call("customer.get", #"{"customerId": "\#(id)"}"#)["result"])
            let after = try XCTUnwrap(b.call("customer.get", #"{"customerId": "\#(id)"}"#)["result"], id)
            for field in ["name", "kind", "phones", "emails", "tags", "address", "birthday", "agentId", "registeredAt"] {
                XCTAssertEqual(after[field], before[field], "\(id) \(field)")
            }
            XCTAssertEqual(after["source"]?["channel"], before["source"]?["channel"], id)
            func interactions(_ file: JSON) -> [[JSON?]] {
                (file["interactions"]?.arrayValue ?? []).map { [$0["kind"], $0["at"], $0["text"], $0["direction"], $0["agentId"]] }
            }
            XCTAssertEqual(interactions(after), interactions(before), id)
            func invoices(_ file: JSON) -> [[JSON?]] {
                (file["invoices"]?.arrayValue ?? []).map { [$0["invoiceId"], $0["issuedAt"], $0["total"], $0["paid"], $0["dueAt"]] }
            }
            XCTAssertEqual(invoices(after), invoices(before), id)
        }
    }

    func testTheSubjectAccessPackageOpensEverythingAndIsRefusedForTheForgotten() throws {
        let daemon = try DaemonProcess(self)
        let c = try staffed(daemon)
        _ = try crmd(["import", "customers", try copy("customers-excel-1256.csv"), "--data", daemon.directory])
        _ = try crmd(["import", "interactions", try copy("interactions-unicode-text.txt"), "--data", daemon.directory])
        let id = try XCTUnwrap(customer(c, phone: "09123456789")?["customerId"]?.stringValue)
        let package = try crmd(["export", "customer", id, "--data", daemon.directory])
        XCTAssertEqual(package.status, 0, package.errors)
        let document = try JSON.parse(package.output)
        XCTAssertEqual(document["subject"]?.stringValue, id)
        XCTAssertEqual(document["file"]?["name"], "رضا رضایی")
        let events = document["events"]?.arrayValue ?? []
        XCTAssertEqual(events.map { $0["type"]?.stringValue }, ["CustomerRegistered", "CallLogged", "SmsLogged"])
        XCTAssertEqual(events[0]["data"]?["name"], "رضا رضایی", "personal data opened, not the sealed text")
        XCTAssertEqual(events[1]["data"]?["text"], "قیمت چاپگر را پرسید")
        XCTAssertEqual(events[1]["at"], "2023-04-21T07:00:00.000000Z")
        XCTAssertNotNil(events[1]["recordedAt"]?.stringValue)
        let position = try XCTUnwrap(events[0]["position"]?.intValue)
        let stored = c.call("log.read", #"{"from": \#(position), "limit": 1}"#)["result"]?["events"]?.arrayValue?.first
        XCTAssertEqual(events[0]["recordedBy"], stored?["actor"]?["principal"], "who recorded it, as the log says")
        XCTAssertNotNil(events[0]["recordedBy"]?.stringValue)
        XCTAssertFalse(package.output.contains("\"v1."), "no sealed value is left closed")

        XCTAssertEqual(c.call("customer.forget", #"{"customerId": "\#(id)", "reason": "customer_request"}"#)["ok"], true)
        let refused = try crmd(["export", "customer", id, "--data", daemon.directory])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.errors.contains("was forgotten"), refused.errors)
        let sheet = try crmd(["export", "customers", "--data", daemon.directory])
        XCTAssertFalse(sheet.output.contains(id), "an erased customer is not exported")
    }
}
