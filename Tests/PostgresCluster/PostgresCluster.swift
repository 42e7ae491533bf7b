import Foundation

/// A private PostgreSQL cluster for a test or a benchmark: initdb in `directory`, started with
/// pg_ctl on a free loopback port; `stop` when done. initdb and pg_ctl refuse to run as root, so
/// under root they run as the `postgres` user (`directory`'s parents must let that user through).
public final class PostgresCluster: @unchecked Sendable {
    /// Where the cluster (`data/`), its log and its socket live.
    public let directory: String
    /// The loopback port it listens on.
    public let port: Int
    /// Where Debian put PostgreSQL's programs.
    public let bin: String
    /// The superuser the cluster was made with.
    public let user = "crmd"

    /// The URL of database `database` (the default one, `postgres`, unless named).
    public func url(database: String = "postgres") -> String { "postgres://\(user)@127.0.0.1:\(port)/\(database)" }

    /// Creates and starts a cluster in `directory` (created here).
    public init(directory: String) throws {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        guard
            let bin = versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }).map({ "/usr/lib/postgresql/\($0)/bin" })
                .first(where: { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") })
        else {
            throw PostgresClusterError(description: "PostgreSQL is not installed (make deps installs it)")
        }
        self.bin = bin
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0, let owner = getpwnam("postgres") {
            chown(directory, owner.pointee.pw_uid, owner.pointee.pw_gid)
        }
        chmod(directory, 0o700)
        port = PostgresCluster.freePort()
        try run("initdb", ["-D", directory + "/data", "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"])
        try start()
    }

    /// Starts the cluster and waits until it accepts connections.
    public func start() throws {
        try run(
            "pg_ctl",
            [
                "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1", "start",
            ])
    }

    /// Stops the cluster: `fast` ends sessions as a restart of the server does, `immediate` as a crash.
    public func stop(mode: String = "fast") throws {
        try run("pg_ctl", ["-D", directory + "/data", "-m", mode, "-w", "stop"])
    }

    /// One SQL statement through psql on the default database; its rows, fields separated by `|`.
    @discardableResult
    public func sql(_ statement: String) throws -> [String] {
        let output = try run(
            "psql", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", "postgres", "-XAtq", "-c", statement])
        return output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Runs one of PostgreSQL's programs, as `postgres` under root; its standard output.
    ///
    /// Spawned and waited for directly (posix_spawn, waitpid): pg_ctl leaves a server running
    /// behind it, which Foundation's Process does not cope with here.
    @discardableResult
    public func run(_ program: String, _ arguments: [String]) throws -> String {
        let command =
            getuid() == 0
            ? ["/usr/sbin/runuser", "-u", "postgres", "--", bin + "/" + program] + arguments
            : [bin + "/" + program] + arguments
        let capture = NSTemporaryDirectory() + "crmd-pg-out-\(UUID().uuidString)"
        defer {
            try? FileManager.default.removeItem(atPath: capture + ".out")
            try? FileManager.default.removeItem(atPath: capture + ".err")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, capture + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, capture + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, command[0], &actions, nil, argv, environ)
        guard spawned == 0 else { throw PostgresClusterError(description: "cannot run \(command[0])") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = FileManager.default.contents(atPath: capture + ".out") ?? Data()
        let errors = FileManager.default.contents(atPath: capture + ".err") ?? Data()
        // WIFEXITED and WEXITSTATUS, spelled out (they are macros).
        guard status & 0x7F == 0, (status >> 8) & 0xFF == 0 else {
            throw PostgresClusterError(
                description: "\(program) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// A loopback port nothing listens on now.
    public static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// A PostgreSQL program that failed, with what it said.
public struct PostgresClusterError: Error, CustomStringConvertible {
    public let description: String
}
