import Foundation
import JSONKit
import PostgresCluster
import XCTest

/// The log shipped to a real PostgreSQL (a private cluster per test) and restored from it:
/// every event exactly once and in order across SIGKILLs of the shipper and restarts of the
/// server, a forked history refused, a restore that verifies with the source's head hash, and a
/// forgotten customer unreadable in PostgreSQL too.
final class ShipTests: XCTestCase {
    /// A company with staff, customers, calls, a quote, an invoice and a payment (Persian text).
    static func history(_ c: Connection, customers: Int, prefix: String = "c") {
        _ = c.call("agent.hire", #"{"agentId": "maryam", "name": "مریم رضایی"}"#)
        _ = c.call("product.define", #"{"productId": "printer", "name": "چاپگر", "unitPrice": {"amount": 250000000, "currency": "IRR"}}"#)
        for index in 0..<customers {
            let id = "\(prefix)\(index)"
            XCTAssertEqual(
                c.call("customer.register", #"{"customerId": "\#(id)", "name": "مشتری \#(index)", "phones": ["0912 000 \#(String(format: "%04d", index))"], "agentId": "maryam"}"#)["ok"],
                true)
            _ = c.call("call.log", #"{"customerId": "\#(id)", "direction": "inbound", "text": "قیمت چاپگر را پرسید"}"#, extra: #", "as": "maryam""#)
            if index % 3 == 0 {
                _ = c.call(
                    "invoice.issue",
                    #"{"invoiceId": "i-\#(id)", "customerId": "\#(id)", "agentId": "maryam", "lines": [{"productId": "printer", "quantity": 1}], "dueAt": "2027-01-01T00:00:00Z"}"#)
                _ = c.call("payment.record", #"{"invoiceId": "i-\#(id)", "amount": 100000000, "method": "cash"}"#)
            }
        }
    }

    /// Every event of the log as the daemon reads it: position → (hash, type).
    static func log(_ c: Connection) -> [Int64: (String, String)] {
        var events: [Int64: (String, String)] = [:]
        var from: Int64 = 1
        while true {
            let page = c.call("log.read", #"{"from": \#(from), "limit": 1000}"#)["result"]?["events"]?.arrayValue ?? []
            guard !page.isEmpty else { return events }
            for event in page {
                events[event["position"]?.intValue ?? 0] = (event["hash"]?.stringValue ?? "", event["type"]?.stringValue ?? "")
            }
            from = (page.last?["position"]?.intValue ?? 0) + 1
        }
    }

    /// What PostgreSQL holds: position → (hash, type).
    static func shipped(_ pg: PostgresCluster) throws -> [Int64: (String, String)] {
        var rows: [Int64: (String, String)] = [:]
        for line in try pg.sql("SELECT position, encode(hash, 'hex'), type FROM crmd_events ORDER BY position") {
            let fields = line.split(separator: "|").map(String.init)
            rows[Int64(fields[0])!] = (fields[1], fields[2])
        }
        return rows
    }

    /// PostgreSQL holds exactly the log: gap-free positions, equal hashes and types.
    func assertSame(_ c: Connection, _ pg: PostgresCluster, file: StaticString = #filePath, line: UInt = #line) throws {
        let log = Self.log(c)
        let rows = try Self.shipped(pg)
        XCTAssertEqual(rows.count, log.count, "as many rows as events", file: file, line: line)
        XCTAssertEqual(Set(rows.keys), Set(1...Int64(log.count)), "positions gap-free from 1", file: file, line: line)
        for (position, event) in log where rows[position]?.0 != event.0 || rows[position]?.1 != event.1 {
            XCTFail("position \(position) differs", file: file, line: line)
            return
        }
        XCTAssertEqual(try pg.sql("SELECT count(*) FROM (SELECT position FROM crmd_events GROUP BY position HAVING count(*) > 1) d"), ["0"])
    }

    func testShipsTheLogOnceInOrderAndTheViewsAnswerInSQL() throws {
        let pg = try PostgresCluster.forTest(self)
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        Self.history(c, customers: 30)
        let first = try runCrmd(["ship", "--data", daemon.directory, "--postgres", pg.url(), "--once", "--batch", "17"])
        XCTAssertEqual(first.status, 0, first.errors)
        XCTAssertTrue(first.output.hasPrefix("shipped "), first.output)
        try assertSame(c, pg)
        Self.history(c, customers: 5, prefix: "d")
        let again = try runCrmd(["ship", "--data", daemon.directory, "--postgres", pg.url(), "--once"])
        XCTAssertEqual(again.status, 0, again.errors)
        try assertSame(c, pg)
        let counts = c.call("system.status")["result"]?["eventsByType"]?.objectValue
        for line in try pg.sql("SELECT type, count(*) FROM crmd_events GROUP BY type") {
            let fields = line.split(separator: "|").map(String.init)
            XCTAssertEqual(counts?[fields[0]]?.intValue, Int64(fields[1]), fields[0])
        }
        XCTAssertEqual(try pg.sql("SELECT position FROM crmd_ship"), [String(Self.log(c).count)])
        // The BI views: twelve invoices of 250,000,000 each, in the month they were issued.
        XCTAssertEqual(try pg.sql("SELECT count(*), sum(amount) FROM crmd_sales_lines"), ["12|3000000000"])
        XCTAssertEqual(try pg.sql("SELECT sum(total - paid) FROM crmd_receivables"), ["1800000000"])
        let month = try pg.sql("SELECT persian_year, persian_month FROM crmd_sales_lines LIMIT 1")
        XCTAssertEqual(month.count, 1)
        XCTAssertEqual(
            try pg.sql("SELECT (crmd_jalali('2026-03-21'))[1], (crmd_jalali('2026-03-21'))[2], (crmd_jalali('2019-12-01'))[2]"),
            ["1405|1|9"], "Nowruz 1405 and Azar 1398")
        XCTAssertEqual(try pg.sql("SELECT sum(interactions) FROM crmd_interactions_daily"), ["35"])
    }

    func testEveryEventArrivesOnceAcrossSIGKILLsOfTheShipperWhileTheDaemonWrites() throws {
        let pg = try PostgresCluster.forTest(self)
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        Self.history(c, customers: 10)
        let socket = daemon.socketPath
        let stop = StopFlag()
        let done = DispatchSemaphore(value: 0)
        Thread {
            defer { done.signal() }
            guard let writer = try? Connection(path: socket) else { return }
            var index = 0
            while !stop.value && index < 5_000 {
                let answer = writer.call(
                    "note.add", #"{"customerId": "c\#(index % 10)", "text": "یادداشت \#(index)"}"#, extra: #", "as": "maryam""#)
                guard answer["ok"] == true else { return }
                index += 1
            }
        }.start()
        for round in 0..<4 {
            let shipper = Process()
            shipper.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
            shipper.arguments = ["ship", "--data", daemon.directory, "--postgres", pg.url(), "--batch", "50"]
            shipper.standardOutput = FileHandle.nullDevice
            shipper.standardError = FileHandle.nullDevice
            try shipper.run()
            usleep(UInt32.random(in: 300_000...900_000) + UInt32(round) * 100_000)
            kill(shipper.processIdentifier, SIGKILL)
            shipper.waitUntilExit()
        }
        stop.value = true
        done.wait()
        XCTAssertGreaterThan(Self.log(c).count, 500, "the daemon wrote while the shipper was killed")
        let last = try runCrmd(["ship", "--data", daemon.directory, "--postgres", pg.url(), "--once"])
        XCTAssertEqual(last.status, 0, last.errors)
        try assertSame(c, pg)
    }

    func testWritesGoOnWhilePostgresIsDownAndTheShipperCatchesUp() throws {
        let pg = try PostgresCluster.forTest(self)
        let daemon = try DaemonProcess(self, arguments: ["--ship-to", pg.url()])
        let c = try daemon.connect()
        Self.history(c, customers: 5)
        try waitUntilShipped(c)
        try pg.stop()
        for index in 0..<200 {
            XCTAssertEqual(
                c.call(
                    "note.add", #"{"customerId": "c\#(index % 5)", "text": "در نبود پایگاه داده \#(index)"}"#,
                    extra: #", "as": "maryam""#)["ok"], true,
                "the daemon writes while PostgreSQL is down")
        }
        let status = c.call("system.status")["result"]?["ship"]
        XCTAssertGreaterThan(status?["lagEvents"]?.intValue ?? 0, 0, "the lag shows in system.status")
        try pg.start()
        try waitUntilShipped(c)
        try assertSame(c, pg)
    }

    /// Waits (at most 30 s) until `system.status` says the shipper holds the head.
    func waitUntilShipped(_ c: Connection) throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            let result = c.call("system.status")["result"]
            if let ship = result?["ship"], ship["lagEvents"]?.intValue == 0,
                ship["shippedPosition"]?.intValue == result?["headPosition"]?.intValue
            {
                return
            }
            usleep(100_000)
        }
        XCTFail("the shipper did not catch up: \(c.call("system.status")["result"]?["ship"] ?? .null)")
    }

    func testAForkedLogIsRefusedNamingThePosition() throws {
        let pg = try PostgresCluster.forTest(self)
        let first = try DaemonProcess(self)
        Self.history(try first.connect(), customers: 3)
        XCTAssertEqual(try runCrmd(["ship", "--data", first.directory, "--postgres", pg.url(), "--once"]).status, 0)
        let other = try DaemonProcess(self)
        Self.history(try other.connect(), customers: 4)
        let refused = try runCrmd(["ship", "--data", other.directory, "--postgres", pg.url(), "--once"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.errors.contains("refusing to ship: at position"), refused.errors)
        let count = try pg.sql("SELECT count(*) FROM crmd_events")
        XCTAssertEqual(count, [String(Self.log(try first.connect()).count)], "nothing of the other log was mixed in")
    }

    func testARestoreVerifiesWithTheSourcesHeadHashAndAForgottenCustomerStaysUnreadable() throws {
        let pg = try PostgresCluster.forTest(self)
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        Self.history(c, customers: 40)
        XCTAssertEqual(c.call("customer.forget", #"{"customerId": "c7"}"#)["ok"], true)
        XCTAssertEqual(try runCrmd(["ship", "--data", daemon.directory, "--postgres", pg.url(), "--once"]).status, 0)
        XCTAssertEqual(try pg.sql("SELECT count(*) FROM crmd_events WHERE data::text LIKE '%مشتری 7%'"), ["0"])
        XCTAssertEqual(
            try pg.sql("SELECT count(*) FROM crmd_events WHERE data::text LIKE '%مشتری%' OR data::text LIKE '%0912%'"), ["0"],
            "names and phones are sealed ciphertext in PostgreSQL")
        let head = c.call("system.status")["result"]?["headHash"]?.stringValue
        let restored = NSTemporaryDirectory() + "crmd-restored-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: restored) }
        let restore = try runCrmd(["restore", "--from-postgres", pg.url(), "--data", restored])
        XCTAssertEqual(restore.status, 0, restore.errors)
        let verify = try runCrmd(["verify", "--data", restored])
        XCTAssertEqual(verify.status, 0, verify.errors)
        XCTAssertTrue(verify.output.contains(head ?? "?"), "the restored log ends in the source's head hash")
        // With the keys of a backup beside it, the restored company reads again, and the
        // forgotten customer is erased there too.
        try FileManager.default.copyItem(atPath: daemon.directory + "/keys", toPath: restored + "/keys")
        let serving = try DaemonProcess(self, directory: restored)
        addTeardownBlock { serving.stop(SIGKILL) }
        let r = try serving.connect()
        XCTAssertEqual(r.call("customer.get", #"{"customerId": "c8"}"#)["result"]?["name"], "مشتری 8")
        XCTAssertEqual(r.call("customer.get", #"{"customerId": "c7"}"#)["result"]?["erased"], true)
    }
}

/// A flag one thread sets and another reads.
final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false

    var value: Bool {
        get {
            lock.lock()
            defer { lock.unlock() }
            return raised
        }
        set {
            lock.lock()
            raised = newValue
            lock.unlock()
        }
    }
}
