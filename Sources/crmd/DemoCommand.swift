import ArgumentParser
import CRMEvents
import Commands
import EventStore
import Foundation
import Synchronization

/// `crmd demo`: writes a realistic synthetic company history into an empty data directory.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Write a realistic synthetic company history (through the real commands).",
        discussion: """
            Branches and representatives, agents who join and leave, customers with Persian names
            from several channels, calls, emails, SMS, notes, quotes, deals won and lost, follow-ups
            deferred and done, invoices, part payments, voids and forgotten customers, day by day
            from 21 March 2023 (Nowruz 1402). Every event goes through the same command path as a
            request on the socket, so every business rule holds. Stop the daemon first.

            With --reproducible the same seed writes the same log, byte for byte (same head hash):
            keys, nonces and ids come from the seed and commands run one at a time.

            Example:
              crmd demo --data ./crm-data --events 200000
              crmd demo --data /tmp/a --events 5000 --seed 7 --reproducible
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "About how many events to write.")
    var events: Int = 100_000

    @Option(help: "The seed of the history.")
    var seed: UInt64 = 1405

    @Flag(help: "Byte-for-byte reproducible: data keys, nonces and ids from the seed, one command at a time (slower). Demo data only.")
    var reproducible = false

    func run() async throws {
        do {
            try FileManager.default.createDirectory(atPath: data.data, withIntermediateDirectories: true)
            let start = Timestamp(rfc3339: "2023-03-21T04:30:00Z")!.microsecondsSince1970
            let now = Mutex(start)
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
            let service = CommandService(store: store, keys: keys, clock: options.clock,
                                         entropy: reproducible ? Entropy(seed: seed) : .system)
            var demo = DemoCompany(service: service) { time in now.withLock { $0 = max($0, time.microsecondsSince1970) } }
            if reproducible { demo.concurrency = 1 }
            demo.start = Timestamp(microsecondsSince1970: start)
            let began = ContinuousClock.now
            let target = events
            let accepted = try await demo.run(events: target, seed: seed) { head in
                FileHandle.standardError.write(Data("\rwritten \(head) of about \(target) events".utf8))
            }
            let head = try store.head()
            FileHandle.standardError.write(Data("\n".utf8))
            print("demo: \(head.position) events from \(accepted) accepted commands in \(String(format: "%.0f", (ContinuousClock.now - began).seconds)) s; head \(head.hash.hex)")
            print("now:  crmd serve --data \(data.data)   (or: crmd report sales --data \(data.data) --calendar persian)")
            store.close()
            keys.close()
        } catch {
            exitWithOneLine(error)
        }
    }
}
