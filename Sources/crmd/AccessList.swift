import Commands
import Door
import EventStore
import Foundation

/// DIR/access.json as it stands: read again when the file changes, so an admin's edit applies
/// to the next connection without restarting the daemon.
final class AccessSource: Sendable {
    let dataDirectory: String
    private let cache: Locked<(stamp: String, list: AccessList)?>

    /// Reads the list once now, so a broken file stops the daemon at start.
    init(dataDirectory: String) throws {
        self.dataDirectory = dataDirectory
        cache = Locked((AccessSource.stamp(dataDirectory), try AccessList.load(dataDirectory: dataDirectory)))
    }

    private static func stamp(_ directory: String) -> String {
        var info = stat()
        guard stat(directory + "/access.json", &info) == 0 else { return "absent" }
        return "\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec).\(info.st_size).\(info.st_ino)"
    }

    /// The current list; a file that became unreadable keeps the last good one.
    var current: AccessList {
        let stamp = AccessSource.stamp(dataDirectory)
        return cache.withLock { cached in
            if let cached, cached.stamp == stamp { return cached.list }
            guard let list = try? AccessList.load(dataDirectory: dataDirectory) else { return cached!.list }
            cached = (stamp, list)
            return list
        }
    }
}

/// Who connects over the socket (docs/access.md): `DIR/access.json` maps local uids to a principal
/// and a role; the uid that owns DIR is always admin. What each role may do is the access policy's.
///
/// access.json: `{"users": [{"uid": 1001, "principal": "maryam", "role": "agent"}, …]}`
struct AccessList: Sendable {
    /// One local user's identity in crmd.
    struct Entry: Sendable, Equatable {
        var principal: String
        var role: Role
    }

    let owner: UInt32
    let users: [UInt32: Entry]

    /// Reads DIR/access.json (absent means: only the owner, as admin).
    static func load(dataDirectory: String) throws -> AccessList {
        var info = stat()
        guard stat(dataDirectory, &info) == 0 else {
            throw CLIError("cannot stat \(dataDirectory): \(String(cString: strerror(errno)))")
        }
        var users: [UInt32: Entry] = [:]
        let path = dataDirectory + "/access.json"
        if let data = FileManager.default.contents(atPath: path) {
            guard let json = try? JSON.parse(Array(data)), let list = json["users"]?.arrayValue else {
                throw CLIError("\(path) is not {\"users\": [{\"uid\": N, \"principal\": \"…\", \"role\": \"…\"}]}")
            }
            for (index, user) in list.enumerated() {
                guard let uid = user["uid"]?.intValue, uid >= 0, let principal = user["principal"]?.stringValue,
                    !principal.isEmpty,
                    let role = user["role"]?.stringValue.flatMap(Role.init(rawValue:))
                else {
                    throw CLIError(
                        "\(path): user \(index) needs a uid, a principal and a role (\(Role.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                users[UInt32(uid)] = Entry(principal: principal, role: role)
            }
        }
        return AccessList(owner: info.st_uid, users: users)
    }

    /// The identity of a connecting uid; the owner of DIR is admin unless listed otherwise.
    func entry(for uid: UInt32) -> Entry? {
        users[uid] ?? (uid == owner ? Entry(principal: "admin", role: .admin) : nil)
    }
}

import CRMEvents
import JSONKit
