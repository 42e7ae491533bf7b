import ArgumentParser
import EventStore
import Foundation

/// `crmd verify`: checks the hash chain and every index, naming the first bad position.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check the hash chain and every index of the log.",
        discussion: """
            Walks every event from position 1: positions are gap-free, each event's hash is the
            SHA-256 of its stored bytes and links to its predecessor, and the stream, head and
            request indexes agree with the events. Works while a daemon serves the directory.
            Exits 0 with a summary, or 1 naming the first position that does not check out.

            Example:
              crmd verify --data ./crm-data
            """)

    @OptionGroup var data: DataOptions

    @Flag(help: "Print progress lines while verifying.")
    var progress = false

    func run() throws {
        do {
            let store = try openLogReadOnly(data)
            let started = ContinuousClock.now
            var lastPrint = started
            let report = try store.verify { done, total in
                guard progress, ContinuousClock.now - lastPrint > .seconds(1) else { return }
                lastPrint = ContinuousClock.now
                print("verified \(done) of \(total) events")
            }
            let seconds = max((ContinuousClock.now - started).seconds, 1e-9)
            // Kept beside the log for `system.status` and the audit page; a read-only mount keeps none.
            try? VerifyRecord(report, by: "crmd verify").save(in: store.directory)
            if let problem = report.problem {
                throw CLIError("verify failed at \(problem)")
            }
            let rate = Int(Double(report.events) / seconds)
            print(
                "ok: \(report.events) events in \(report.streams) streams, \(report.requests) request ids; "
                    + "head \(report.headPosition) \(report.headHash.hex) (\(rate) events/s)")
        } catch {
            exitWithOneLine(error)
        }
    }
}
