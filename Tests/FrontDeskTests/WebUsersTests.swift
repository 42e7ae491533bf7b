import Foundation
import HummingbirdOTP
import JSONKit
import XCTest

@testable import FrontDesk

/// The front desk's logins: bcrypt hashes in a 0600 file, refusals, disabling, a second factor.
final class WebUsersTests: XCTestCase {
    func directory() throws -> String {
        let path = NSTemporaryDirectory() + "crmd-web-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: path) }
        return path
    }

    func testALoginIsABcryptHashInAPrivateFileAndChecksThePassword() throws {
        let users = WebUsers(dataDirectory: try directory())
        try users.add("maryam", password: "گل‌های بهاری ۱۴۰۵")
        let attributes = try FileManager.default.attributesOfItem(atPath: users.path)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let text = try String(contentsOfFile: users.path, encoding: .utf8)
        XCTAssertFalse(text.contains("بهاری"), "the password itself is never stored")
        let user = try XCTUnwrap(try users.user("maryam"))
        XCTAssertTrue(user.passwordHash.hasPrefix("$2b$12$"), "bcrypt at cost 12: \(user.passwordHash)")
        XCTAssertEqual(try users.verify("maryam", password: "گل‌های بهاری ۱۴۰۵", code: nil).agentId, "maryam")
        XCTAssertThrowsError(try users.verify("maryam", password: "گل‌های بهاری ۱۴۰۴", code: nil)) {
            XCTAssertEqual($0 as? LoginRefusal, .wrongPassword)
        }
        XCTAssertThrowsError(try users.verify("ali", password: "anything at all", code: nil)) {
            XCTAssertEqual($0 as? LoginRefusal, .unknownUser)
        }
        XCTAssertThrowsError(try users.add("maryam", password: "another long one")) { error in
            XCTAssertTrue("\(error)".contains("already has a login"), "\(error)")
        }
        XCTAssertThrowsError(try users.add("ali", password: "short")) { error in
            XCTAssertTrue("\(error)".contains("at least 10"), "\(error)")
        }
        XCTAssertThrowsError(try users.add("aliali1234", password: "aliali1234"))
        XCTAssertNil(try users.user("ali"))
    }

    func testPasswordsChangeAndDisabledLoginsAreRefused() throws {
        let users = WebUsers(dataDirectory: try directory())
        try users.add("ali", password: "first password")
        try users.add("sara", password: "sara's password")
        try users.setPassword("ali", "second password")
        XCTAssertThrowsError(try users.verify("ali", password: "first password", code: nil))
        XCTAssertNoThrow(try users.verify("ali", password: "second password", code: nil))
        try users.setDisabled("ali", true)
        XCTAssertThrowsError(try users.verify("ali", password: "second password", code: nil)) {
            XCTAssertEqual($0 as? LoginRefusal, .disabled)
        }
        XCTAssertNoThrow(try users.verify("sara", password: "sara's password", code: nil), "others are untouched")
        try users.setDisabled("ali", false)
        XCTAssertNoThrow(try users.verify("ali", password: "second password", code: nil))
        XCTAssertThrowsError(try users.setPassword("nobody", "a long password")) { error in
            XCTAssertTrue("\(error)".contains("has no login"), "\(error)")
        }
        XCTAssertEqual(try users.all().map(\.agentId), ["ali", "sara"])
    }

    func testASecondFactorWantsTheCodeOfThisWindowOrTheOneBefore() throws {
        let users = WebUsers(dataDirectory: try directory())
        try users.add("sara", password: "manager of the north")
        let uri = try users.enableTOTP("sara")
        XCTAssertTrue(uri.hasPrefix("otpauth://totp/crmd:sara?"), uri)
        XCTAssertTrue(uri.contains("issuer=crmd"), uri)
        let secret = try XCTUnwrap(try users.user("sara")?.totpSecret)
        let totp = TOTP(secret: secret)
        let now = Date()
        XCTAssertThrowsError(try users.verify("sara", password: "manager of the north", code: nil, now: now)) {
            XCTAssertEqual($0 as? LoginRefusal, .codeRequired)
        }
        let code = String(format: "%06d", totp.compute(date: now))
        XCTAssertNoThrow(try users.verify("sara", password: "manager of the north", code: code, now: now))
        let late = String(format: "%06d", totp.compute(date: now.addingTimeInterval(-30)))
        XCTAssertNoThrow(try users.verify("sara", password: "manager of the north", code: late, now: now))
        let stale = String(format: "%06d", totp.compute(date: now.addingTimeInterval(-300)))
        if stale != code && stale != late {
            XCTAssertThrowsError(try users.verify("sara", password: "manager of the north", code: stale, now: now)) {
                XCTAssertEqual($0 as? LoginRefusal, .wrongCode)
            }
        }
    }
}
