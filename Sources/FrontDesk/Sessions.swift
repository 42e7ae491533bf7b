import Crypto
import EventStore
import Foundation

/// Who is logged in: sessions by an unguessable id, each with its own CSRF token, ended by
/// logout or after `idle` without a request. Kept in memory: a restart of the front desk logs
/// everyone out, which is the safe way round.
public actor Sessions {
    /// One logged-in person.
    public struct Session: Sendable {
        /// The agent id (their user name).
        public let agentId: String
        /// The token every form of this session carries.
        public let csrf: String
        /// What the person does in the company, which decides the pages offered (the daemon
        /// still decides what they may read and write).
        public let role: StaffRole
        var lastSeen: Date

        /// The person as the pages see them.
        var viewer: Viewer { Viewer(agentId: agentId, csrf: csrf, role: role) }
    }

    private var sessions: [String: Session] = [:]
    /// How long a session lasts without a request.
    public let idle: TimeInterval

    /// Sessions that end after `idle` seconds without a request.
    public init(idle: TimeInterval = 30 * 60) { self.idle = idle }

    /// 32 random bytes as hex: a session id or a token.
    static func token() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { $0.lowercaseHex }
    }

    /// Starts a session for `agentId` and returns its id.
    public func start(_ agentId: String, role: StaffRole = .agent, now: Date = Date()) -> String {
        let id = Sessions.token()
        sessions[id] = Session(agentId: agentId, csrf: Sessions.token(), role: role, lastSeen: now)
        return id
    }

    /// The live session `id` names, touched; nil when there is none or it went idle.
    public func session(_ id: String, now: Date = Date()) -> Session? {
        guard var session = sessions[id] else { return nil }
        guard now.timeIntervalSince(session.lastSeen) <= idle else {
            sessions[id] = nil
            return nil
        }
        session.lastSeen = now
        sessions[id] = session
        return session
    }

    /// Ends a session (logout).
    public func end(_ id: String) { sessions[id] = nil }

    /// Ends every session of `agentId` (their login was disabled, or they left).
    public func end(agent agentId: String) { sessions = sessions.filter { $0.value.agentId != agentId } }
}

/// What a logged-in person does: agents serve their own customers, managers run the company,
/// auditors read everything and write nothing.
public enum StaffRole: String, Sendable {
    case agent, manager, auditor

    /// Whether company-wide pages (dashboard, audit) are theirs.
    var readsCompany: Bool { self != .agent }
    /// Whether forms that write are offered.
    var writes: Bool { self != .auditor }
}

/// The person a page is drawn for: their name, their session's form token, their role.
struct Viewer: Sendable {
    let agentId: String
    let csrf: String
    let role: StaffRole
}

/// Repeated failed logins slow down, then lock the user name for a while.
public actor LoginThrottle {
    private var failures: [String: [Date]] = [:]
    /// Failures within `window` that lock the name.
    public let limit: Int
    /// How far back failures count, and how long a lock lasts.
    public let window: TimeInterval

    /// The pause after the first failure; each further one waits one more of these.
    public let delayUnit: TimeInterval

    /// Locks a name after `limit` failures within `window` seconds, pausing `delayUnit` seconds
    /// more after each failure.
    public init(limit: Int = 5, window: TimeInterval = 15 * 60, delayUnit: TimeInterval = 1) {
        self.limit = limit
        self.window = window
        self.delayUnit = delayUnit
    }

    /// Whether `name` is locked now.
    public func isLocked(_ name: String, now: Date = Date()) -> Bool {
        recent(name, now).count >= limit
    }

    /// Counts a failure; returns how long to wait before answering (one second more each time).
    public func failed(_ name: String, now: Date = Date()) -> TimeInterval {
        var list = recent(name, now)
        list.append(now)
        failures[name] = list
        return delayUnit * Double(min(list.count, 5))
    }

    /// Forgets a name's failures (a login succeeded).
    public func succeeded(_ name: String) { failures[name] = nil }

    private func recent(_ name: String, _ now: Date) -> [Date] {
        (failures[name] ?? []).filter { now.timeIntervalSince($0) < window }
    }
}
