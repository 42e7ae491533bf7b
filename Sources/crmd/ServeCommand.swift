import ArgumentParser
import CRMEvents
import Commands
import EventStore
import Foundation
import JSONKit
import KeyValue
import Logging
import Projections
import ServiceLifecycle
import Shipper

/// `crmd serve`: the daemon on DIR/crmd.sock.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve commands and queries on a Unix socket.",
        discussion: """
            Opens the log (one daemon per data directory), folds the projections up to date and
            follows the log live, then answers newline-delimited JSON requests (docs/protocol.md)
            on the socket, mode 0660. Who may do what comes from DIR/access.json; the owner of DIR
            is admin. SIGTERM or SIGINT: stop accepting, finish requests in flight, exit 0.

            Example:
              crmd serve --data ./crm-data
              crmd send system.status --data ./crm-data
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("The socket (default DIR/crmd.sock).", valueName: "PATH"))
    var socket: String?

    @Option(help: "Most client connections at once.")
    var maxConnections = 1024

    @Option(help: "Most pipelined requests of one connection in flight before it is no longer read.")
    var maxInFlight = 128

    @Option(help: "Seconds an idle connection is kept.")
    var idleTimeout: Int64 = 600

    @Option(help: "Seconds a log.subscribe client may leave an event unread before it is cut off.")
    var subscriberTimeout: Int64 = 10

    @Option(
        name: .customLong("ship-to"),
        help: ArgumentHelp("Ship the log to this PostgreSQL as it grows (see crmd ship).", valueName: "URL"))
    var shipTo: String?

    func run() async throws {
        do {
            try FileManager.default.createDirectory(
                atPath: data.data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let socketPath = socket ?? data.data + "/crmd.sock"
            StorageDiagnostics.onReopen { path in
                ServeCommand.logger.warning(
                    "storage at \(path) refused a write LMDB could not complete (MDB_PANIC); it was reopened and serving goes on; check the disk"
                )
            }
            let store: EventStore
            do {
                store = try EventStore(directory: data.logDirectory)
            } catch StoreError.locked(_, let holder) {
                throw CLIError("another crmd\(holder.map { " (pid \($0))" } ?? "") is serving \(data.data)")
            }
            let keys = try KeyStore(directory: data.data + "/keys")
            let commands = CommandService(store: store, keys: keys)
            try ServeCommand.finishForgetting(commands)
            let projector = try Projector(
                store: store, directory: data.data + "/projections", projections: Projections.all(keys: keys))
            try ServeCommand.bringUpToDate(projector)
            let shipper = try shipTo.map {
                Shipper(store: store, target: try PostgresTarget($0), logger: ServeCommand.logger)
            }
            var queries = try CRMQueries(projector: projector, keys: keys)
            if let shipper { queries.shipping = { shipper.status() } }
            let router = RequestRouter(
                commands: commands, queries: queries, access: try AccessSource(dataDirectory: data.data))
            let server = ServerState(
                maxConnections: maxConnections, maxInFlight: maxInFlight, idleSeconds: idleTimeout,
                subscriberSeconds: subscriberTimeout)
            let daemon = try await Daemon.start(socketPath: socketPath, router: router, server: server, store: store)
            FileHandle.standardOutput.write(
                Data(
                    """
                    crmd: serving \(data.data) on \(socketPath) (head \(try store.head().position))
                    try:  crmd send system.status --data \(data.data)\n
                    """.utf8))
            // swift-service-lifecycle runs the socket and the live projector; SIGTERM or SIGINT
            // starts a graceful shutdown (the socket drains first), a second signal cancels.
            var services: [any Service] = [
                ProjectorService(projector: projector), SocketService(daemon: daemon, logger: ServeCommand.logger),
            ]
            if let shipper { services.append(ShipService(shipper: shipper, logger: ServeCommand.logger)) }
            let group = ServiceGroup(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint], logger: ServeCommand.logger)
            try await group.run()
            projector.close()
            store.close()
            keys.close()
            log("stopped")
        } catch {
            exitWithOneLine(error)
        }
    }

    /// Destroys the data keys of customers forgotten before a crash; on a full disk, later.
    private static func finishForgetting(_ commands: CommandService) throws {
        do {
            let reconciled = try commands.reconcileForgottenKeys()
            if reconciled > 0 { log("destroyed \(reconciled) data key(s) of customers forgotten before a crash") }
        } catch {
            guard error.code == .unavailable else { throw error }
            logger.warning(
                "\(error.message): keys of customers forgotten before a crash are destroyed once there is room (customer.forget again does it too)"
            )
        }
    }

    /// Folds what the projections have not seen yet before the socket opens.
    private static func bringUpToDate(_ projector: Projector) throws {
        if projector.state.discardedInterruptedBulkLoad {
            log(
                "a rebuild of the projections was cut off (its commits were not yet synced): they start again from position 1"
            )
        }
        let lag = try projector.status().map(\.lag).max() ?? 0
        if lag > 0 { log("folding \(lag) events into the projections …") }
        do {
            try projector.catchUp()
        } catch StoreError.diskFull {
            // Serve anyway: reads answer from what is folded, writes get `unavailable`, and the
            // live projector folds the rest once there is room.
            logger.warning("the disk is full: serving reads; the projections catch up once there is room")
        }
    }

    /// The daemon's log (swift-log, to stderr).
    private static let logger: Logger = {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        return Logger(label: "crmd")
    }()

    private func log(_ message: String) {
        ServeCommand.log(message)
    }

    private static func log(_ message: String) {
        logger.info("\(message)")
    }
}

/// The socket as a service: serves until graceful shutdown, then drains and closes.
struct SocketService: Service {
    let daemon: Daemon
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        logger.info("stopping: finishing requests in flight …")
        await daemon.shutdown()
    }
}

/// The projector following the log live, until shutdown.
/// The shipper inside the daemon: follows the log into PostgreSQL until shutdown. A refusal
/// (PostgreSQL holds another history) stops shipping, never the daemon.
struct ShipService: Service {
    let shipper: Shipper
    let logger: Logger

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await shipper.follow() }
        } catch let error as ShipError {
            logger.error("shipping stopped: \(error)")
            try? await gracefulShutdown()
        } catch is CancellationError {
        }
    }
}

struct ProjectorService: Service {
    let projector: Projector

    func run() async throws {
        try await cancelWhenGracefulShutdown { try await projector.run() }
    }
}
