import Foundation
import FrontDesk
import JSONKit
import XCTest

/// `crmd web user …` against a real log: logins only for staff who are still here.
final class WebUserCommandTests: XCTestCase {
    /// Runs `crmd ARGS` with `input`; returns the exit status and what it printed (stdout and stderr).
    func crmd(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String) {
        let run = try runCrmd(arguments, input: input)
        return (run.status, run.output + run.errors)
    }

    func testLoginsAreForStaffWhoAreStillHere() throws {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}"#)["ok"], true)
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "ali", "name": "علی محمدی"}"#)["ok"], true)
        let data = ["--data", daemon.directory]

        let added = try crmd(["web", "user", "add", "sara"] + data, input: "رمز عبور بلند سارا\n")
        XCTAssertEqual(added.status, 0, added.output)
        XCTAssertTrue(added.output.contains("sara (manager) can log in"), added.output)
        let file = daemon.directory + "/web-users.json"
        let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? NSNumber)?.intValue
        XCTAssertEqual(mode, 0o600)

        let unknown = try crmd(["web", "user", "add", "nobody"] + data, input: "a long enough password\n")
        XCTAssertEqual(unknown.status, 1)
        XCTAssertTrue(unknown.output.contains("not an agent of the company"), unknown.output)
        let weak = try crmd(["web", "user", "add", "ali"] + data, input: "1234\n")
        XCTAssertEqual(weak.status, 1)
        XCTAssertTrue(weak.output.contains("at least 10 characters"), weak.output)

        XCTAssertEqual(c.call("agent.leave", #"{"agentId": "ali", "successorId": "sara"}"#)["ok"], true)
        let gone = try crmd(["web", "user", "add", "ali"] + data, input: "a long enough password\n")
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.output.contains("has left the company"), gone.output)

        let totp = try crmd(["web", "user", "totp", "sara"] + data)
        XCTAssertTrue(totp.output.hasPrefix("otpauth://totp/crmd:sara?secret="), totp.output)
        XCTAssertEqual(try crmd(["web", "user", "disable", "sara"] + data).status, 0)
        let list = try crmd(["web", "user", "list"] + data)
        let row = list.output.split(separator: "\n").first { $0.hasPrefix("sara") }.map(String.init) ?? ""
        XCTAssertTrue(row.contains("manager") && row.contains("disabled") && row.contains("TOTP"), list.output)
        XCTAssertFalse(list.output.contains("ali"), "no login was made for ali")
        XCTAssertFalse(
            (try String(contentsOfFile: file, encoding: .utf8)).contains("سارا"), "no password in the file")
    }

    func testTheFrontDeskRefusesPlainHTTPBeyondLoopbackUnlessTold() throws {
        let directory = NSTemporaryDirectory() + "crmd-web-\(UUID().uuidString)"
        addTeardownBlock { try? FileManager.default.removeItem(atPath: directory) }
        let refused = try crmd(["web", "--listen", "0.0.0.0:18089", "--data", directory])
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(refused.output.contains("not loopback") && refused.output.contains("--insecure-http"), refused.output)
        let malformed = try crmd(["web", "--listen", "localhost", "--data", directory])
        XCTAssertEqual(malformed.status, 1)
        XCTAssertTrue(malformed.output.contains("HOST:PORT"), malformed.output)
    }

    func testWelcomeGivesTheFirstManagerALoginOnceAndOtherwiseSaysHowToHireOne() throws {
        let daemon = try DaemonProcess(self)
        let c = try daemon.connect()
        let data = ["--data", daemon.directory]
        let empty = try crmd(["web", "welcome", "--url", "http://127.0.0.1:9/login"] + data)
        XCTAssertEqual(empty.status, 0, empty.output)
        XCTAssertTrue(empty.output.contains("nobody can log in yet") && empty.output.contains("agent.hire"), empty.output)

        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "ali", "name": "علی محمدی"}"#)["ok"], true)
        XCTAssertEqual(c.call("agent.hire", #"{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}"#)["ok"], true)
        let first = try crmd(["web", "welcome"] + data)
        XCTAssertTrue(first.output.contains("user sara (a manager of the company), password "), first.output)
        let password = String(
            first.output[try XCTUnwrap(first.output.range(of: "password ")).upperBound...].prefix { !$0.isWhitespace })
        XCTAssertEqual(password.count, 16)
        let list = try crmd(["web", "user", "list"] + data)
        XCTAssertTrue(list.output.contains("sara"), list.output)
        let second = try crmd(["web", "welcome"] + data)
        XCTAssertFalse(second.output.contains("password"), "a password is shown once: \(second.output)")
        XCTAssertTrue(second.output.contains("the front desk is at"), second.output)
        XCTAssertEqual(
            try WebUsers(dataDirectory: daemon.directory).verify("sara", password: password, code: nil).agentId, "sara",
            "the printed password opens the login")
    }
}
