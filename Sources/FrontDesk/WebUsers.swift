import EventStore
import Foundation
import HummingbirdBcrypt
import HummingbirdOTP
import JSONKit

/// A person who may log in to the front desk: an agent or manager of the company, by agent id.
public struct WebUser: Codable, Equatable, Sendable {
    /// The agent id, which is also the user name on the login form.
    public var agentId: String
    /// The bcrypt hash of the password (cost `WebUsers.cost`).
    public var passwordHash: String
    /// Refused at the login form (`crmd web user disable`).
    public var disabled: Bool
    /// The shared secret of a second factor (TOTP), when the user has one.
    public var totpSecret: String?
    /// When the login was created and when its password last changed (RFC 3339).
    public var createdAt: String
    public var passwordChangedAt: String
    /// `auditor` for an auditor of access.json (who reads and never writes); nil for staff hired
    /// in the log, whose role the daemon knows.
    public var role: String?
}

/// Why a login was refused: every case reads the same to the person at the form (no telling
/// which part was wrong), the distinction is for the server's counters.
public enum LoginRefusal: Error, Equatable, Sendable {
    case unknownUser, wrongPassword, disabled, codeRequired, wrongCode
}

/// The front desk's logins, in `DIR/web-users.json` (mode 0600): bcrypt hashes, never passwords.
///
/// Written whole to a temporary file and renamed over the old one, so a reader (the server)
/// sees the old file or the new one, never half of either.
public final class WebUsers: Sendable {
    /// The file's path.
    public let path: String
    /// bcrypt's cost: 2^12 rounds, about a quarter of a second per check on this machine,
    /// which is what a login can afford and a guesser cannot.
    public static let cost: UInt8 = 12
    /// The shortest password accepted.
    public static let minimumPasswordLength = 10

    /// The logins of the data directory `dataDirectory`.
    public init(dataDirectory: String) {
        path = dataDirectory + "/web-users.json"
    }

    /// Every login, by agent id.
    public func all() throws -> [WebUser] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        return try JSON.parse([UInt8](data))["users"]?.decode([WebUser].self) ?? []
    }

    /// The login of `agentId`, if it has one.
    public func user(_ agentId: String) throws -> WebUser? { try all().first { $0.agentId == agentId } }

    /// Writes `users` atomically with mode 0600.
    func save(_ users: [WebUser]) throws {
        let json = JSON.object(["users": try JSON.encode(users.sorted { $0.agentId < $1.agentId })])
        let temporary = path + ".tmp-\(getpid())"
        let bytes = Data((json.pretty() + "\n").utf8)
        guard FileManager.default.createFile(atPath: temporary, contents: bytes, attributes: [.posixPermissions: 0o600])
        else { throw WebUserError("cannot write \(temporary)") }
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw WebUserError("cannot replace \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Refuses passwords a guesser would try first.
    static func check(_ password: String, for agentId: String) throws {
        guard password.count >= minimumPasswordLength else {
            throw WebUserError("a password needs at least \(minimumPasswordLength) characters")
        }
        guard password.lowercased() != agentId.lowercased(), Set(password).count > 3 else {
            throw WebUserError("that password is too easy to guess")
        }
    }

    /// Creates the login of `agentId` with `password`.
    public func add(_ agentId: String, password: String, role: String? = nil, now: Date = Date()) throws {
        var users = try all()
        guard !users.contains(where: { $0.agentId == agentId }) else {
            throw WebUserError("\(agentId) already has a login; change its password with `crmd web user passwd`")
        }
        try WebUsers.check(password, for: agentId)
        let time = WebUsers.rfc3339(now)
        users.append(
            WebUser(
                agentId: agentId, passwordHash: Bcrypt.hash(password, cost: WebUsers.cost), disabled: false,
                totpSecret: nil, createdAt: time, passwordChangedAt: time, role: role))
        try save(users)
    }

    /// Changes one login with `change`, refusing agents without one.
    func update(_ agentId: String, _ change: (inout WebUser) throws -> Void) throws {
        var users = try all()
        guard let index = users.firstIndex(where: { $0.agentId == agentId }) else {
            throw WebUserError("\(agentId) has no login; create one with `crmd web user add \(agentId)`")
        }
        try change(&users[index])
        try save(users)
    }

    /// Sets a new password.
    public func setPassword(_ agentId: String, _ password: String, now: Date = Date()) throws {
        try WebUsers.check(password, for: agentId)
        try update(agentId) { user in
            user.passwordHash = Bcrypt.hash(password, cost: WebUsers.cost)
            user.passwordChangedAt = WebUsers.rfc3339(now)
        }
    }

    /// Disables (or enables again) a login.
    public func setDisabled(_ agentId: String, _ disabled: Bool) throws {
        try update(agentId) { $0.disabled = disabled }
    }

    /// Gives a login a second factor and returns its `otpauth://` URI for an authenticator app.
    public func enableTOTP(_ agentId: String) throws -> String {
        let alphabet = Array("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789")
        var generator = SystemRandomNumberGenerator()
        let secret = String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
        try update(agentId) { $0.totpSecret = secret }
        return TOTP(secret: secret).createAuthenticatorURL(label: "crmd:\(agentId)", issuer: "crmd")
    }

    /// Checks a login: the password against its hash and, for users with a second factor, the
    /// code of this 30-second window or the one before (a phone's clock a little behind).
    public func verify(_ agentId: String, password: String, code: String?, now: Date = Date()) throws(LoginRefusal)
        -> WebUser
    {
        guard let user = try? user(agentId) else {
            // The same work as a real check, so timing does not tell which names exist.
            _ = Bcrypt.verify(password, hash: WebUsers.decoyHash)
            throw .unknownUser
        }
        guard Bcrypt.verify(password, hash: user.passwordHash) else { throw .wrongPassword }
        guard !user.disabled else { throw .disabled }
        if let secret = user.totpSecret {
            guard let code, let number = Int(code.filter(\.isNumber)) else { throw .codeRequired }
            let totp = TOTP(secret: secret)
            guard totp.compute(date: now) == number || totp.compute(date: now.addingTimeInterval(-30)) == number
            else { throw .wrongCode }
        }
        return user
    }

    /// A hash of nothing anyone knows, for the unknown-user path.
    static let decoyHash = Bcrypt.hash(UUID().uuidString, cost: cost)

    static func rfc3339(_ date: Date) -> String { Timestamp(date).rfc3339 }
}

/// A refused change to the logins, said to the operator.
public struct WebUserError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String

    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}
