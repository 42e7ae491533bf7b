import ArgumentParser
import CRMEvents
import Commands
import Demo
import EventStore
import Foundation
import JSONKit
import KeyValue

/// `crmd demo`: writes a realistic synthetic company history into an empty data directory.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write a realistic synthetic company history (through the real commands).",
        discussion: """
            Branches and representatives, agents who join and leave, people and organisations with
            Persian and English names from several channels and campaigns, calls, meetings, emails,
            SMS, negotiations, quotes, pro-formas, invoices paid in parts, voids, deals won and lost
            at realistic funnel rates, follow-ups deferred and done, support contracts, monthly
            targets, seasonal repricing and forgotten customers, working day by working day from
            Nowruz 1402 (21 March 2023). Every event goes through the same command path as a request
            on the socket, so every business rule holds. Stop the daemon first.

            --customers and --years shape the history (about 26 events per customer); --events
            alone picks the customers for that many events and stops there; with both, the history
            stops early once the log holds --events events.

            With --reproducible the same seed writes the same log, byte for byte (same head hash):
            keys, nonces and ids come from the seed and commands run one at a time.

            Example:
              crmd demo --data ./crm-data --customers 8000 --years 3
              crmd demo --data /tmp/big --events 1000000
              crmd demo --data /tmp/a --events 5000 --seed 7 --reproducible
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "Customers arriving over the history (default 8000, or --events / 26).")
    var customers: Int?

    @Option(help: "Years of history, from Nowruz 1402.")
    var years: Int = 3

    @Option(help: "Stop once the log holds about this many events.")
    var events: Int?

    @Option(help: "The seed of the history.")
    var seed: UInt64 = 1405

    @Flag(
        help:
            "Byte-for-byte reproducible: data keys, nonces and ids from the seed, one command at a time (slower). Demo data only."
    )
    var reproducible = false

    func run() async throws {
        do {
            try FileManager.default.createDirectory(
                atPath: data.data, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            guard customers.map({ $0 > 0 }) ?? true, years > 0, events.map({ $0 > 0 }) ?? true else {
                throw CLIError("--customers, --years and --events must be positive")
            }
            let start = DemoCompany.defaultStart.microsecondsSince1970
            let now = Locked(start)
            var options = StoreOptions()
            options.clock = { Timestamp(microsecondsSince1970: now.withLock { $0 }) }
            let store: EventStore
            do {
                store = try EventStore(directory: data.logDirectory, options: options)
            } catch StoreError.locked {
                throw CLIError("a daemon serves \(data.data); stop it first (the demo writes the log directly)")
            }
            guard try store.head().position == 0 else {
                store.close()
                throw CLIError("\(data.data) already holds a log; the demo writes only into an empty data directory")
            }
            let keys = try KeyStore(directory: data.data + "/keys")
            let service = CommandService(
                store: store, keys: keys, clock: options.clock,
                entropy: reproducible ? Entropy(seed: seed) : .system)
            var demo = DemoCompany(service: service) { time in now.withLock { $0 = max($0, time.microsecondsSince1970) }
            }
            if reproducible { demo.concurrency = 1 }
            let began = ContinuousClock.now
            let customers = customers ?? events.map { max(30, $0 / DemoCompany.eventsPerCustomer) } ?? 8_000
            let about = events ?? customers * DemoCompany.eventsPerCustomer
            let accepted = try await demo.run(customers: customers, years: years, eventLimit: events, seed: seed) {
                head in
                FileHandle.standardError.write(Data("\rwritten \(head) of about \(about) events".utf8))
            }
            let head = try store.head()
            FileHandle.standardError.write(Data("\n".utf8))
            print(
                "demo: \(head.position) events from \(accepted) accepted commands in \(String(format: "%.0f", (ContinuousClock.now - began).seconds)) s; head \(head.hash.hex)"
            )
            print(
                "now:  crmd serve --data \(data.data)   (or: crmd report sales --data \(data.data) --calendar persian)")
            store.close()
            keys.close()
        } catch {
            exitWithOneLine(error)
        }
    }
}
