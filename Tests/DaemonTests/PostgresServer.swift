import Foundation
import XCTest

/// A private PostgreSQL 15 cluster for one test: initdb in a temporary directory, started with
/// pg_ctl on a free loopback port, stopped (and deleted) after. initdb and pg_ctl refuse to run
/// as root, so under root they run as the `postgres` user.
final class PostgresServer {
    let directory: String
    let port: Int
    let bin: String
    /// The superuser the cluster was made with, and the database the tests use.
    let user = "crmd"
    var url: String { "postgres://\(user)@127.0.0.1:\(port)/postgres" }

    /// Where Debian puts PostgreSQL's programs.
    static func binaries() -> String? {
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        return versions.sorted { (Int($0) ?? 0) > (Int($1) ?? 0) }.map { "/usr/lib/postgresql/\($0)/bin" }
            .first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    init(_ test: XCTestCase) throws {
        guard let bin = PostgresServer.binaries() else {
            throw NSError(
                domain: "postgres", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "PostgreSQL is not installed (make deps installs it)"])
        }
        self.bin = bin
        directory = NSTemporaryDirectory() + "crmd-pg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0, let owner = getpwnam("postgres") {
            chown(directory, owner.pointee.pw_uid, owner.pointee.pw_gid)
        }
        chmod(directory, 0o700)
        port = PostgresServer.freePort()
        try run("initdb", ["-D", directory + "/data", "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"])
        try start()
        let directory = directory
        let stop = { [self] in self.stopNow() }
        test.addTeardownBlock {
            stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Starts the cluster and waits until it accepts connections.
    func start() throws {
        try run(
            "pg_ctl",
            [
                "-D", directory + "/data", "-l", directory + "/server.log", "-w", "-t", "60", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1", "start",
            ])
    }

    /// Stops the cluster (`fast`: sessions are ended, as for a restart of the server).
    func stop(mode: String = "fast") throws {
        try run("pg_ctl", ["-D", directory + "/data", "-m", mode, "-w", "stop"])
    }

    private func stopNow() {
        try? run("pg_ctl", ["-D", directory + "/data", "-m", "immediate", "-w", "stop"])
    }

    /// One SQL statement through psql; its rows, fields separated by `|`.
    @discardableResult
    func sql(_ statement: String) throws -> [String] {
        let output = try run("psql", ["-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", "postgres", "-XAtq", "-c", statement])
        return output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }

    /// Runs one of PostgreSQL's programs, as `postgres` under root; its standard output.
    ///
    /// Spawned and waited for directly (posix_spawn, waitpid): pg_ctl leaves a server running
    /// behind it, which Foundation's Process does not cope with here.
    @discardableResult
    func run(_ program: String, _ arguments: [String]) throws -> String {
        let command = getuid() == 0
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
        guard spawned == 0 else {
            throw NSError(domain: "postgres", code: Int(spawned), userInfo: [NSLocalizedDescriptionKey: "cannot run \(command[0])"])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let output = FileManager.default.contents(atPath: capture + ".out") ?? Data()
        let errors = FileManager.default.contents(atPath: capture + ".err") ?? Data()
        // WIFEXITED and WEXITSTATUS, spelled out (they are macros).
        let exited = status & 0x7F == 0
        let code = (status >> 8) & 0xFF
        guard exited, code == 0 else {
            throw NSError(
                domain: "postgres", code: Int(code),
                userInfo: [
                    NSLocalizedDescriptionKey:
                        "\(program) \(arguments.joined(separator: " ")): \(String(decoding: errors, as: UTF8.self))"
                ])
        }
        return String(decoding: output, as: UTF8.self)
    }

    static func freePort() -> Int {
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
