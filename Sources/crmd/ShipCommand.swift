import ArgumentParser
import EventStore
import Foundation
import Logging
import Shipper

/// `crmd ship`: copies the log into PostgreSQL, exactly once and in order.
struct ShipCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ship",
        abstract: "Copy the log into PostgreSQL (crmd_events), exactly once and in order.",
        discussion: """
            Creates crmd_events, crmd_ship and the BI views (docs/bi.md) where missing, then ships
            every event after the last one PostgreSQL holds, in transactions of --batch events
            (COPY, and the checkpoint moved in the same transaction). Refuses, naming the position,
            when PostgreSQL holds a history this log does not continue. Works beside a running
            daemon; `crmd serve --ship-to URL` does the same inside the daemon.

            Example:
              crmd ship --data ./crm-data --postgres postgres://crmd@127.0.0.1:5432/crmd --once
            """)

    @OptionGroup var data: DataOptions

    @Option(help: ArgumentHelp("The PostgreSQL to ship to.", valueName: "URL"))
    var postgres: String

    @Flag(help: "Ship up to the current head and exit.")
    var once = false

    @Option(help: "Events per PostgreSQL transaction.")
    var batch = 5_000

    func run() async throws {
        do {
            let target = try PostgresTarget(postgres)
            let store = try openLogReadOnly(data)
            defer { store.close() }
            let shipper = Shipper(store: store, target: target, batchSize: max(1, batch), logger: ShipCommand.logger)
            if once {
                let started = ContinuousClock.now
                let shipped = try await shipper.shipToHead()
                let seconds = (ContinuousClock.now - started).seconds
                let head = try store.head()
                print(
                    "shipped \(shipped) events to \(target) in \(String(format: "%.1f", seconds)) s; "
                        + "PostgreSQL holds the log up to position \(head.position) (\(head.hash.hex))")
                return
            }
            print("crmd ship: following \(data.data) into \(target)")
            try await shipper.follow(poll: .milliseconds(250))
        } catch {
            exitWithOneLine(error)
        }
    }

    static let logger: Logger = {
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "crmd-ship")
        logger.logLevel = .warning
        return logger
    }()
}

/// `crmd restore`: a log rebuilt from the copy shipped to PostgreSQL.
struct RestoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Rebuild a log from the copy shipped to PostgreSQL.",
        discussion: """
            Reads crmd_events in position order and appends every event again with its original
            stream, version, time, actor, request id and payload bytes into an empty data
            directory, checking each event's hash and chain against PostgreSQL's as it goes. The
            result verifies (`crmd verify`) with the source's head hash. Personal data is sealed
            in the log: copy the key directory from a `crmd backup` (DIR/keys) beside it to read it.

            Example:
              crmd restore --from-postgres postgres://crmd@db.example.ir/crmd --data ./restored
              crmd verify --data ./restored
            """)

    @Option(name: .customLong("from-postgres"), help: ArgumentHelp("The PostgreSQL shipped to.", valueName: "URL"))
    var source: String

    @OptionGroup var data: DataOptions

    func run() async throws {
        do {
            let target = try PostgresTarget(source)
            guard !FileManager.default.fileExists(atPath: data.logDirectory + "/data.mdb") else {
                throw CLIError("\(data.data) already holds a log; restore into a new directory")
            }
            try FileManager.default.createDirectory(
                atPath: data.data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            let store = try EventStore(directory: data.logDirectory)
            defer { store.close() }
            let started = ContinuousClock.now
            var reported: UInt64 = 0
            let (events, head) = try await Restorer(source: target, logger: ShipCommand.logger).restore(into: store) {
                restored in
                guard restored - reported >= 100_000 else { return }
                reported = restored
                FileHandle.standardError.write(Data("restored \(restored) events\n".utf8))
            }
            let seconds = (ContinuousClock.now - started).seconds
            print(
                "restored \(events) events from \(target) in \(String(format: "%.1f", seconds)) s; head \(head.hex)\n"
                    + "next: crmd verify --data \(data.data); copy DIR/keys from a backup to read personal data")
        } catch {
            exitWithOneLine(error)
        }
    }
}
