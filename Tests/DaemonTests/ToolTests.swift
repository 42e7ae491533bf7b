import CRMEvents
import EventStore
import Foundation
import JSONKit
import XCTest

/// The command-line tools on real data directories, run as the real binary.
final class ToolTests: XCTestCase {
    /// Runs `crmd ARGS`; returns the exit status and what it printed (stdout and stderr).
    func crmd(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = try runCrmd(arguments)
        return (run.status, run.output + run.errors)
    }

    func temporary() -> String {
        let path = NSTemporaryDirectory() + "crmd-tools-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testDemoBackupRebuildAndReplayOnAServedDirectory() throws {
        let directory = temporary()
        let demo = try crmd(["demo", "--data", directory, "--customers", "150", "--years", "1"])
        XCTAssertEqual(demo.status, 0, demo.output)
        XCTAssertEqual(
            try crmd(["demo", "--data", directory, "--events", "10"]).status, 1,
            "the demo writes only into an empty directory")

        let daemon = try DaemonProcess(self, directory: directory)
        defer { daemon.stop() }
        let c = try daemon.connect()
        let head = try XCTUnwrap(c.call("system.status")["result"]?["headPosition"]?.intValue)
        XCTAssertGreaterThan(head, 150 * 15, "about 26 events per customer")
        let sales = c.call(
            "report.sales",
            #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "groupBy": ["month"], "calendar": "persian"}"#
        )
        XCTAssertEqual(
            sales["result"]?["rows"]?.arrayValue?.first?["group"]?["month"]?.stringValue?.prefix(5), "1402-",
            "the demo starts at Nowruz 1402")

        // A backup while the daemon serves and a client writes.
        let writer = try daemon.connect()
        writer.send(
            #"{"id": 1, "op": "branch.open", "args": {"branchId": "isfahan", "name": "نمایندگی اصفهان", "region": "اصفهان"}}"#
        )
        let backup = directory + "-backup"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: backup) }
        let copied = try crmd(["backup", backup, "--data", directory])
        XCTAssertEqual(copied.status, 0, copied.output)
        XCTAssertEqual(writer.receive()?["ok"], true)
        XCTAssertEqual(try crmd(["verify", "--data", backup]).status, 0)
        XCTAssertEqual(try crmd(["backup", backup, "--data", directory]).status, 1, "a backup never overwrites")

        // Rebuild on a served directory asks the daemon; the result equals what it had.
        let before = c.call(
            "report.sales", #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "groupBy": ["agent"]}"#)
        let rebuilt = try crmd(["rebuild", "--all", "--data", directory])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.output)
        XCTAssertTrue(rebuilt.output.contains("asking it to rebuild"))
        XCTAssertEqual(
            c.call(
                "report.sales", #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z", "groupBy": ["agent"]}"#
            ), before)

        // The copy serves, and replay --as-of on it equals the daemon's customer.get asOf.
        let copy = try DaemonProcess(self, directory: backup)
        let asOf = "2023-03-25T00:00:00Z"
        let served = try copy.connect().call("customer.get", #"{"customerId": "c1", "asOf": "\#(asOf)"}"#)
        XCTAssertEqual(served["ok"], true, served.serialized())
        copy.stop()
        let replayed = try crmd(["replay", "--data", backup, "--customer", "c1", "--as-of", asOf])
        XCTAssertEqual(replayed.status, 0, replayed.output)
        XCTAssertEqual(try JSON.parse(replayed.output), served["result"])
        let business = "2023-03-24"
        let servedAt = try DaemonProcess(self, directory: backup)
        let then = try servedAt.connect().call(
            "customer.get", #"{"customerId": "c1", "asOf": "\#(asOf)", "at": "\#(business)"}"#)
        servedAt.stop()
        XCTAssertEqual(then["ok"], true, then.serialized())
        let replayedAt = try crmd(["replay", "--data", backup, "--customer", "c1", "--as-of", asOf, "--at", business])
        XCTAssertEqual(replayedAt.status, 0, replayedAt.output)
        XCTAssertEqual(try JSON.parse(replayedAt.output), then["result"], "replay --at answers as customer.get at does")
        let byAgent = try crmd([
            "replay", "--data", backup, "--actor", "a1", "--since", "2023-03-22T00:00:00Z", "--until",
            "2023-06-01T00:00:00Z",
        ])
        XCTAssertEqual(byAgent.status, 0, byAgent.output)
        let events = try byAgent.output.split(separator: "\n").map { try JSON.parse(String($0)) }
        XCTAssertFalse(events.isEmpty)
        XCTAssertTrue(events.allSatisfy { $0["actor"]?["principal"] == "a1" }, "only a1's events")
        XCTAssertTrue(
            events.allSatisfy {
                ($0["recordedAt"]?.stringValue ?? "") >= "2023-03-22"
                    && ($0["recordedAt"]?.stringValue ?? "") < "2023-06-01"
            })
        // The diff of a customer still on file (the demo forgets a few) shows who set each field.
        func customers(_ type: String) throws -> [String] {
            try crmd(["replay", "--data", backup, "--type", type]).output.split(separator: "\n")
                .compactMap { try JSON.parse(String($0))["data"]?["customerId"]?.stringValue }
        }
        let forgotten = try customers("CustomerForgotten")
        let subject = try XCTUnwrap(customers("CustomerRegistered").first { !forgotten.contains($0) })
        let diff = try crmd([
            "replay", "--data", backup, "--customer", subject, "--diff", "2023-01-01T00:00:00Z", "2030-01-01T00:00:00Z",
        ])
        XCTAssertEqual(diff.status, 0, diff.output)
        let lines = diff.output.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("recordedAt") ?? false)
        XCTAssertTrue(
            lines.contains { $0.contains(" name ") }, "the registration shows who set the name: \(diff.output)")
    }

    func testTheDemoTellsAWholeCompanysStory() throws {
        let directory = temporary()
        let demo = try crmd(["demo", "--data", directory, "--customers", "800", "--years", "2", "--seed", "3"])
        XCTAssertEqual(demo.status, 0, demo.output)
        let replay = try crmd(["replay", "--data", directory, "--format", "jsonl"])
        XCTAssertEqual(replay.status, 0)
        let events = try replay.output.split(separator: "\n").map { try JSON.parse(String($0)) }
        var types: [String: Int] = [:]
        for event in events { types[event["type"]?.stringValue ?? "", default: 0] += 1 }
        for type in [
            "BranchOpened", "AgentHired", "AgentLeft", "ProductDefined", "ProductRepriced", "CustomerRegistered",
            "ContactAdded",
            "CustomerFieldEdited", "CustomerAssigned", "CompetitorNoted", "CustomerForgotten", "CallLogged",
            "MeetingLogged",
            "EmailLogged", "SmsLogged", "NoteAdded", "NegotiationLogged", "QuoteGiven", "ProformaIssued",
            "InvoiceIssued",
            "InvoiceVoided", "PaymentRecorded", "DealOpened", "DealMoved", "DealWon", "DealLost", "FollowupScheduled",
            "FollowupCompleted", "FollowupDeferred", "FollowupCancelled", "SupportContractRecorded", "TargetSet",
        ] {
            XCTAssertGreaterThan(types[type] ?? 0, 0, "the demo writes \(type)")
        }
        XCTAssertEqual(types["CustomerRegistered"], 800, "every customer asked for arrives")
        let last = try XCTUnwrap(events.last?["recordedAt"]?.stringValue)
        XCTAssertTrue(last.hasPrefix("2025-03"), "two years from Nowruz 1402 end in March 2025: \(last)")

        // The funnel has the shape of a real one: about a fifth of the deals won, losses at every stage.
        let funnel = try crmd([
            "report", "funnel", "--data", directory, "--format", "json",
            #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}"#,
        ])
        XCTAssertEqual(funnel.status, 0, funnel.output)
        let stages = try XCTUnwrap(JSON.parse(funnel.output)["stages"]?.arrayValue)
        func entered(_ name: String) -> Double {
            Double(stages.first { $0["stage"]?.stringValue == name }?["entered"]?.intValue ?? 0)
        }
        let winRate = entered("won") / entered("lead")
        XCTAssertTrue((0.1...0.35).contains(winRate), "won / leads = \(winRate)")
        for stage in ["lead", "qualified", "proposal", "negotiation"] {
            XCTAssertGreaterThan(
                stages.first { $0["stage"]?.stringValue == stage }?["lost"]?.intValue ?? 0, 0,
                "deals are lost at \(stage)")
        }

        // Persian and English names, people and organisations, campaigns.
        let customers = events.filter { $0["type"] == "CustomerRegistered" }
        XCTAssertTrue(customers.contains { $0["data"]?["kind"] == "organisation" })
        let sources = Set(customers.compactMap { $0["data"]?["source"]?["campaign"]?.stringValue })
        XCTAssertTrue(sources.contains("nowruz-1402"), "\(sources)")
        let daemon = try DaemonProcess(self, directory: directory)
        defer { daemon.stop() }
        let c = try daemon.connect()
        let names = customers.prefix(80).compactMap { event in
            event["data"]?["customerId"]?.stringValue.flatMap {
                c.call("customer.get", #"{"customerId": "\#($0)"}"#)["result"]?["name"]?.stringValue
            }
        }
        XCTAssertGreaterThan(names.count, 70, "names are sealed in the log and opened by the file")
        XCTAssertTrue(
            names.contains { $0.unicodeScalars.contains { (0x0600...0x06FF).contains($0.value) } }, "Persian names")
        XCTAssertTrue(names.contains { $0.unicodeScalars.allSatisfy { $0.isASCII } }, "English names")
    }

    /// Runs a program of lmdb-utils (installed by `make deps`), its standard output into `output`.
    func lmdbUtility(_ name: String, _ arguments: [String], output: String? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/" + name)
        process.arguments = arguments
        if let output {
            FileManager.default.createFile(atPath: output, contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        }
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testVerifyNamesAFlippedByteAndADamagedIndex() throws {
        let clean = temporary()
        XCTAssertEqual(
            try crmd(["demo", "--data", clean, "--customers", "60", "--years", "1", "--seed", "5"]).status, 0)
        let ok = try crmd(["verify", "--data", clean])
        XCTAssertEqual(ok.status, 0, ok.output)
        let lastEvent = try XCTUnwrap(
            crmd(["replay", "--data", clean]).output.split(separator: "\n").last.map { try JSON.parse(String($0)) })
        XCTAssertTrue(ok.output.hasPrefix("ok: \(lastEvent["position"]!.intValue!) events"), ok.output)
        XCTAssertTrue(
            ok.output.contains("head \(lastEvent["position"]!.intValue!) \(lastEvent["hash"]!.stringValue!)"),
            "the summary names the head hash: \(ok.output)")

        // One bit flipped on disk, in the Tabriz branch's name, as a failing disk would do it.
        let flipped = temporary()
        try FileManager.default.copyItem(atPath: clean, toPath: flipped)
        let opened = try crmd(["replay", "--data", clean, "--type", "BranchOpened"]).output.split(separator: "\n").map {
            try JSON.parse(String($0))
        }
        let position = try XCTUnwrap(opened.first { $0["data"]?["branchId"] == "tabriz" }?["position"]?.intValue)
        let file = URL(fileURLWithPath: flipped + "/log/data.mdb")
        var bytes = try Data(contentsOf: file)
        let name = Data("نمایندگی تبریز".utf8)
        var from = bytes.startIndex
        var flips = 0
        // LMDB may still hold an older copy of the page in its free list; flip every copy.
        while let found = bytes.range(of: name, in: from..<bytes.endIndex) {
            bytes[found.lowerBound + 4] ^= 0x01
            from = found.upperBound
            flips += 1
        }
        XCTAssertGreaterThan(flips, 0)
        try bytes.write(to: file)
        let bad = try crmd(["verify", "--data", flipped])
        XCTAssertEqual(bad.status, 1, bad.output)
        XCTAssertTrue(bad.output.hasPrefix("crmd: verify failed at position \(position) (events)"), bad.output)
        XCTAssertEqual(bad.output.split(separator: "\n").count, 1, "one line")

        // A stream index entry lost: dump the log with mdb_dump, drop one entry, load it back.
        let damaged = temporary()
        try FileManager.default.copyItem(atPath: clean, toPath: damaged)
        let dump = damaged + ".dump"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dump) }
        XCTAssertEqual(try lmdbUtility("mdb_dump", ["-a", clean + "/log"], output: dump), 0)
        var lines = try String(contentsOfFile: dump, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        let streams = try XCTUnwrap(lines.firstIndex(of: "database=streams"))
        let firstEntry = try XCTUnwrap(lines[streams...].firstIndex(of: "HEADER=END")) + 1
        lines.removeSubrange(firstEntry..<firstEntry + 2)
        try lines.joined(separator: "\n").write(toFile: dump, atomically: true, encoding: .utf8)
        try FileManager.default.removeItem(atPath: damaged + "/log")
        try FileManager.default.createDirectory(atPath: damaged + "/log", withIntermediateDirectories: false)
        XCTAssertEqual(try lmdbUtility("mdb_load", ["-f", dump, damaged + "/log"]), 0)
        let lost = try crmd(["verify", "--data", damaged])
        XCTAssertEqual(lost.status, 1, lost.output)
        XCTAssertTrue(lost.output.contains("(streams)") && lost.output.contains("indexed as nothing"), lost.output)
    }

    func testReplayOfAKnownHistoryAndAPersianTableThatAligns() throws {
        let directory = temporary()
        let daemon = try DaemonProcess(self, directory: directory)
        let c = try daemon.connect()
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "maryam", "name": "مریم رضایی"}"#)["ok"], true)
        XCTAssertEqual(
            c.call("customer.register", #"{"customerId": "c1", "name": "رضا کریمی", "agentId": "maryam"}"#)["ok"], true)
        XCTAssertEqual(
            c.call(
                "call.log",
                #"{"customerId": "c1", "direction": "inbound", "agentId": "maryam", "at": "2020-01-01T10:00:00Z", "outcome": "interested"}"#,
                extra: #", "as": "maryam""#)["ok"], true)
        XCTAssertEqual(
            c.call("customer.register", #"{"customerId": "c2", "name": "Sara Miller", "agentId": "maryam"}"#)["ok"],
            true)
        XCTAssertEqual(c.call("customer.edit", #"{"customerId": "c1", "tags": ["VIP"]}"#)["ok"], true)
        XCTAssertEqual(daemon.stop(), 0)

        // The table: position, stream, version, type, actor (the recorded time varies run to run).
        let table = try crmd(["replay", "--data", directory, "--format", "table", "--stream", "customer-c1"])
        XCTAssertEqual(table.status, 0, table.output)
        let rows = table.output.split(separator: "\n").dropFirst(2).map {
            $0.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        }
        XCTAssertEqual(
            rows.map { [$0[0], $0[2], $0[3], $0[4], $0[5...].joined(separator: " ")] },
            [
                ["2", "customer-c1", "1", "CustomerRegistered", "admin (uid \(getuid()))"],
                ["5", "customer-c1", "2", "CustomerFieldEdited", "admin (uid \(getuid()))"],
            ])
        let range = try crmd(["replay", "--data", directory, "--from", "2", "--to", "3"]).output.split(separator: "\n")
            .map { try JSON.parse(String($0)) }
        XCTAssertEqual(range.map { $0["position"]?.intValue }, [2, 3])
        XCTAssertEqual(range.map { $0["type"]?.stringValue }, ["CustomerRegistered", "CallLogged"])
        XCTAssertEqual(range.last?["actor"]?["principal"], "maryam", "the call was sent as maryam")
        XCTAssertEqual(range.last?["stream"], "activity-c1")
        XCTAssertEqual(
            try crmd(["replay", "--data", directory, "--type", "CustomerRegistered"]).output.split(separator: "\n")
                .count, 2)

        // A report table with Persian and English names: every column starts at the same place on
        // every line, counted in what a terminal shows (a Persian letter is one cell, like a Latin one).
        let view = try crmd(["report", "view", "--data", directory, #"{"agentId": "maryam"}"#])
        XCTAssertEqual(view.status, 0, view.output)
        let lines = view.output.split(separator: "\n").map(String.init)
        XCTAssertGreaterThan(lines.count, 3, view.output)
        XCTAssertTrue(view.output.contains("رضا کریمی") && view.output.contains("Sara Miller"), view.output)
        // The rule under the header is dashes per column, two spaces apart; in every row the two
        // cells before each column's start are the separator (spaces), so no cell pushed it along.
        let rule = Array(lines[1])
        let starts = rule.indices.filter { $0 > 1 && rule[$0] == "-" && rule[$0 - 1] == " " }
        XCTAssertGreaterThan(starts.count, 2)
        for line in lines.dropFirst(2) {
            let cells = Array(line)
            for start in starts where start < cells.count {
                XCTAssertEqual(String(cells[start - 2..<start]), "  ", "column at \(start) out of line in: \(line)")
            }
        }
    }

    func testAReproducibleDemoWritesTheSameLogTwice() throws {
        let first = try crmd(["demo", "--data", temporary(), "--events", "1200", "--seed", "7", "--reproducible"])
        let second = try crmd(["demo", "--data", temporary(), "--events", "1200", "--seed", "7", "--reproducible"])
        let other = try crmd(["demo", "--data", temporary(), "--events", "1200", "--seed", "8", "--reproducible"])
        func head(_ output: String) -> String? {
            output.split(separator: "\n").first { $0.hasPrefix("demo:") }?.split(separator: " ").last.map(String.init)
        }
        XCTAssertEqual(first.status, 0, first.output)
        XCTAssertNotNil(head(first.output))
        XCTAssertEqual(head(first.output), head(second.output), "same seed, same head hash")
        XCTAssertNotEqual(head(first.output), head(other.output), "another seed, another history")
    }

    func testOfflineRebuildReportsProgressAndEqualsWhatTheDaemonBuilt() throws {
        let directory = temporary()
        XCTAssertEqual(try crmd(["demo", "--data", directory, "--events", "2000"]).status, 0)
        let daemon = try DaemonProcess(self, directory: directory)
        let live = try daemon.connect().call(
            "report.workload", #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}"#)
        daemon.stop()
        let rebuilt = try crmd(["rebuild", "crm-facts", "--data", directory])
        XCTAssertEqual(rebuilt.status, 0, rebuilt.output)
        XCTAssertTrue(rebuilt.output.contains("rebuild: "), "progress lines when not on a terminal")
        XCTAssertTrue(rebuilt.output.contains("rebuilt crm-facts"))
        let again = try DaemonProcess(self, directory: directory)
        defer { again.stop() }
        XCTAssertEqual(
            try again.connect().call(
                "report.workload", #"{"from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}"#), live)
        XCTAssertEqual(try crmd(["rebuild", "--data", directory]).status, 64, "no names and no --all is a usage error")
    }

    /// Splits RFC 4180 CSV into rows of fields.
    func parseCSV(_ text: String) -> [[String]] {
        var rows: [[String]] = []
        var row: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else {
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                row.append(field); field = ""
            } else if c == "\r\n" || c == "\n" {
                row.append(field); rows.append(row); row = []; field = ""
            } else {
                field.append(c)
            }
        }
        return rows
    }

    func testEveryReportAsCSVReadsBackToTheQuerysFigures() throws {
        let directory = temporary()
        XCTAssertEqual(try crmd(["demo", "--data", directory, "--events", "2500"]).status, 0)
        let range = #""from": "2023-01-01T00:00:00Z", "to": "2030-01-01T00:00:00Z""#
        let reports: [(String, String)] = [
            ("sales", #"{\#(range), "groupBy": ["month", "product"]}"#), ("quotes", "{\(range)}"),
            ("daily", #"{"date": "2023-03-25"}"#),
            ("dormant", #"{"days": 1}"#), ("receivables", #"{"until": "2030-01-01T00:00:00Z"}"#),
            ("workload", "{\(range)}"),
            ("targets", #"{"period": "2023"}"#), ("branches", "{\(range)}"), ("funnel", "{\(range)}"),
            ("agenda", #"{"agentId": "a1", \#(range)}"#), ("view", #"{"agentId": "a1"}"#),
        ]
        for (name, args) in reports {
            let csv = try crmd(
                ["report", name, args, "--data", directory, "--format", "csv", "--calendar", "persian"].filter {
                    name == "sales" || $0 != "--calendar" && $0 != "persian"
                })
            XCTAssertEqual(csv.status, 0, "\(name): \(csv.output)")
            let json = try crmd(
                ["report", name, args, "--data", directory, "--format", "json"]
                    + (name == "sales" ? ["--calendar", "persian"] : []))
            XCTAssertEqual(json.status, 0, "\(name): \(json.output)")
            let table = parseCSV(csv.output)
            let result = try JSON.parse(json.output)
            let list =
                ["rows", "stages", "customers", "invoices", "agents", "targets", "branches", "followups"].lazy
                .compactMap { result[$0]?.arrayValue }.first ?? [result]
            XCTAssertEqual(table.count - 1, list.count, "\(name): one CSV row per result row")
            XCTAssertTrue(table.dropFirst().allSatisfy { $0.count == table[0].count }, "\(name): rectangular")
            if name == "sales", let first = list.first, let amount = first["amount"]?["IRR"]?.intValue {
                let column = try XCTUnwrap(table[0].firstIndex(of: "amount.IRR"))
                XCTAssertEqual(table[1][column], String(amount), "the CSV carries the query's figures")
                XCTAssertEqual(
                    table[1][try XCTUnwrap(table[0].firstIndex(of: "group.month"))],
                    first["group"]?["month"]?.stringValue)
            }
        }
        XCTAssertEqual(try crmd(["report", "nonsense", "--data", directory]).status, 1)
    }
}
