import ArgumentParser
import CRMEvents
import EventStore
import Foundation
import FrontDesk
import Hummingbird

/// `crmd web`: the front desk in the browser, and the logins of the people who use it.
struct WebCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "web",
        abstract: "The front desk in the browser, and its logins.",
        discussion: """
            Logins belong to hired agents and managers (the user name is the agent id) and live in
            DIR/web-users.json (mode 0600) as bcrypt hashes. Someone who left the company
            (agent.leave) cannot log in.

            Examples:
              crmd web --data ./crm-data                       # serves http://127.0.0.1:8080
              crmd web user add maryam --data ./crm-data
              crmd web user totp sara --data ./crm-data
              crmd web user list --data ./crm-data
            """,
        subcommands: [WebServeCommand.self, WebUserCommand.self, WebWelcomeCommand.self],
        defaultSubcommand: WebServeCommand.self)
}

/// `crmd web welcome`: what a newcomer needs to open the front desk. With no login yet and a
/// manager on the staff, that manager gets one, with a password made up and printed this once;
/// with no manager, how to hire one and give them a login.
struct WebWelcomeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "welcome", abstract: "Print how to log in to the front desk (make run calls it).")

    @OptionGroup var data: DataOptions

    @Option(help: "The login page's address.")
    var url: String = "http://127.0.0.1:8080/login"

    /// Active managers in the log, in the order they were hired.
    static func managers(_ data: DataOptions) throws -> [String] {
        let store = try openLogReadOnly(data)
        defer { store.close() }
        var hired: [String] = []
        var left = Set<String>()
        try store.scan(from: 1) { event in
            guard event.type == "AgentHired" || event.type == "AgentLeft" else { return true }
            switch try EventCatalogue.decode(event) {
            case .agentHired(let agent) where agent.role == "manager": hired.append(agent.agentId)
            case .agentLeft(let agent): left.insert(agent.agentId)
            default: break
            }
            return true
        }
        return hired.filter { !left.contains($0) }
    }

    func run() throws {
        do {
            let users = WebUsers(dataDirectory: data.data)
            if let existing = try users.all().first(where: { !$0.disabled }) {
                print("crmd web: the front desk is at \(url) (logins: crmd web user list; e.g. \(existing.agentId))")
                return
            }
            let managers = FileManager.default.fileExists(atPath: data.logDirectory + "/data.mdb")
                ? try WebWelcomeCommand.managers(data) : []
            guard let manager = managers.first else {
                print(
                    """
                    crmd web: the front desk is at \(url); nobody can log in yet. Hire a manager and give them a login:
                      .build/release/crmd send agent.hire '{"agentId": "sara", "name": "سارا کریمی", "role": "manager"}' --data \(data.data)
                      .build/release/crmd web user add sara --data \(data.data)
                    """)
                return
            }
            let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
            var generator = SystemRandomNumberGenerator()
            let password = String((0..<16).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
            try users.add(manager, password: password)
            print(
                """
                crmd web: the front desk is at \(url)
                          user \(manager) (a manager of the company), password \(password)
                          (shown this once; change it with: crmd web user passwd \(manager) --data \(data.data))
                """)
        } catch let error as WebUserError {
            exitWithOneLine(CLIError(error.description))
        } catch {
            exitWithOneLine(error)
        }
    }
}

/// `crmd web serve` (also plain `crmd web`): the front desk over the daemon's socket.
struct WebServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the front desk over the running daemon.",
        discussion: """
            The front desk holds no CRM data: every page is the daemon's answer to a request sent
            as the person logged in. It listens on loopback by default; another address needs
            --insecure-http (put a TLS reverse proxy in front, see docs/operations.md).
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("Address and port to listen on.", valueName: "HOST:PORT"))
    var listen: String = "127.0.0.1:8080"

    @Flag(help: "Allow a non-loopback --listen without TLS (behind a proxy that terminates TLS).")
    var insecureHttp = false

    @Option(help: ArgumentHelp("The daemon's socket (default DIR/crmd.sock).", valueName: "PATH"))
    var socket: String?

    @Flag(help: "Browsers reach this server through a TLS proxy: session cookies are marked Secure.")
    var behindTls = false

    /// The host and port of `--listen`, refusing plain HTTP beyond loopback unless asked for.
    static func address(_ listen: String, insecure: Bool) throws -> (host: String, port: Int) {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
            (1...65535).contains(port)
        else { throw CLIError("--listen takes HOST:PORT, e.g. 127.0.0.1:8080") }
        let host = String(listen[..<colon]).trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        guard loopback || insecure else {
            throw CLIError(
                "\(host) is not loopback: passwords and sessions would cross the network in clear; serve behind a TLS "
                    + "reverse proxy (docs/operations.md) and pass --insecure-http to say so")
        }
        return (host, port)
    }

    func run() async throws {
        do {
            let (host, port) = try WebServeCommand.address(listen, insecure: insecureHttp)
            let desk = FrontDesk(
                users: WebUsers(dataDirectory: data.data),
                gateway: DaemonGateway(socket: socket ?? data.data + "/crmd.sock"), secure: behindTls)
            let app = Application(
                router: desk.router(),
                configuration: .init(address: .hostname(host, port: port), serverName: "crmd"),
                onServerRunning: { _ in print("crmd web: serving http://\(host):\(port)/ for \(data.data)") })
            try await app.runService()
        } catch {
            exitWithOneLine(error)
        }
    }
}

/// `crmd web user …`: creating and looking after logins.
struct WebUserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Create and look after front-desk logins.",
        subcommands: [Add.self, Passwd.self, Disable.self, Enable.self, List.self, Totp.self])

    /// Who an agent id is in the log: hired as what, and whether they have left.
    static func staff(_ agentId: String, _ data: DataOptions) throws -> (role: String, left: Bool) {
        let store = try openLogReadOnly(data)
        defer { store.close() }
        guard let name = try? StreamName("agent-\(agentId)") else { throw CLIError("\(agentId) is not an agent id") }
        var role: String?
        var left = false
        for event in try store.readStream(name) {
            switch try EventCatalogue.decode(event) {
            case .agentHired(let hired): role = hired.role
            case .agentLeft: left = true
            default: break
            }
        }
        guard let role else { throw CLIError("\(agentId) is not an agent of the company (hire them with agent.hire)") }
        return (role, left)
    }

    /// A password from standard input: typed twice without echo on a terminal, else its first line.
    static func readPassword() throws -> String {
        guard isatty(STDIN_FILENO) == 1 else {
            guard let line = Swift.readLine(strippingNewline: true), !line.isEmpty else {
                throw CLIError("give the password on standard input")
            }
            return line
        }
        func ask(_ prompt: String) -> String {
            FileHandle.standardError.write(Data(prompt.utf8))
            var settings = termios()
            tcgetattr(STDIN_FILENO, &settings)
            var silent = settings
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &silent)
            defer {
                tcsetattr(STDIN_FILENO, TCSANOW, &settings)
                FileHandle.standardError.write(Data("\n".utf8))
            }
            return Swift.readLine(strippingNewline: true) ?? ""
        }
        let first = ask("password: ")
        guard ask("again: ") == first else { throw CLIError("the two passwords differ; nothing was changed") }
        return first
    }

    /// Runs `body`, reporting a refusal as one line.
    static func run(_ body: () throws -> Void) {
        do { try body() } catch let error as WebUserError { exitWithOneLine(CLIError(error.description)) } catch {
            exitWithOneLine(error)
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a login for a hired agent or manager, or an auditor of access.json; the password comes from standard input.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The agent id, or an auditor's principal (the user name at the login form).") var agentId: String

        func run() throws {
            WebUserCommand.run {
                let auditors = try AccessList.load(dataDirectory: data.data).users.values.filter { $0.role == .auditor }
                if auditors.contains(where: { $0.principal == agentId }) {
                    try WebUsers(dataDirectory: data.data).add(
                        agentId, password: try WebUserCommand.readPassword(), role: StaffRole.auditor.rawValue)
                    print("web: \(agentId) (auditor) can log in at /login")
                    return
                }
                let staff = try WebUserCommand.staff(agentId, data)
                guard !staff.left else { throw CLIError("\(agentId) has left the company and cannot have a login") }
                try WebUsers(dataDirectory: data.data).add(agentId, password: try WebUserCommand.readPassword())
                print("web: \(agentId) (\(staff.role)) can log in at /login")
            }
        }
    }

    struct Passwd: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a new password, read from standard input.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The agent id.") var agentId: String

        func run() throws {
            WebUserCommand.run {
                try WebUsers(dataDirectory: data.data).setPassword(agentId, try WebUserCommand.readPassword())
                print("web: \(agentId)'s password is changed")
            }
        }
    }

    struct Disable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Refuse a login from now on.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The agent id.") var agentId: String

        func run() throws {
            WebUserCommand.run {
                try WebUsers(dataDirectory: data.data).setDisabled(agentId, true)
                print("web: \(agentId) can no longer log in")
            }
        }
    }

    struct Enable: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Accept a disabled login again.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The agent id.") var agentId: String

        func run() throws {
            WebUserCommand.run {
                guard !(try WebUserCommand.staff(agentId, data)).left else {
                    throw CLIError("\(agentId) has left the company")
                }
                try WebUsers(dataDirectory: data.data).setDisabled(agentId, false)
                print("web: \(agentId) can log in again")
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every login: role, state, second factor.")
        @OptionGroup var data: DataOptions

        func run() throws {
            WebUserCommand.run {
                let table = TableWriter(columns: ["user", "role", "state", "second factor", "password changed"])
                for user in try WebUsers(dataDirectory: data.data).all() {
                    let staff = try? WebUserCommand.staff(user.agentId, data)
                    let state = staff?.left == true ? "left the company" : user.disabled ? "disabled" : "active"
                    table.add([
                        user.agentId, staff?.role ?? "?", state, user.totpSecret == nil ? "no" : "TOTP",
                        user.passwordChangedAt,
                    ])
                }
                table.print()
            }
        }
    }

    struct Totp: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Give a login a second factor and print its otpauth:// URI for an authenticator app.")
        @OptionGroup var data: DataOptions
        @Argument(help: "The agent id.") var agentId: String

        func run() throws {
            WebUserCommand.run {
                print(try WebUsers(dataDirectory: data.data).enableTOTP(agentId))
            }
        }
    }
}
