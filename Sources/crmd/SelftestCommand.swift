import ArgumentParser
import CRMEvents
import EventStore
import Foundation
import JSONKit

/// `crmd selftest`: appends a burst of events through the group commit, then verifies the log.
struct SelftestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "selftest",
        abstract: "Append a burst of events to DIR/log and verify the whole log.",
        discussion: """
            Writes --events events from --writers concurrent writers to the streams
            selftest-<run>-<n> (one durable group commit serves many writers), then walks the
            hash chain and indexes. Each run adds to the log; nothing is ever removed.

            Example:
              crmd selftest --data ./crm-data --events 2000
            """)

    @OptionGroup var data: DataOptions

    @Option(help: "How many events to append.")
    var events: Int = 1000

    @Option(help: "How many concurrent writers.")
    var writers: Int = 16

    func run() async throws {
        do {
            guard events > 0, writers > 0 else { throw CLIError("--events and --writers must be positive") }
            let store = try EventStore(directory: data.logDirectory)
            defer { store.close() }
            let run = Timestamp.now().microsecondsSince1970
            let before = store.headPosition
            let started = ContinuousClock.now
            let perWriter = (events + writers - 1) / writers
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<writers {
                    group.addTask {
                        for n in 0..<perWriter where writer * perWriter + n < events {
                            let note = "آزمایش سامانه ‌— نویسنده \(writer)، رویداد \(n)"
                            let payload =
                                "{\"run\":\(run),\"writer\":\(writer),\"n\":\(n),\"note\":\(JSON.string(note).serialized())}"
                            try await store.append(
                                AppendRequest(
                                    stream: "selftest-\(run)-\(writer)", expected: .exact(StreamVersion(n)),
                                    events: [ProposedEvent(type: "SelftestRecorded", data: Array(payload.utf8))],
                                    actor: Actor(principal: "selftest", uid: getuid()),
                                    requestId: "selftest-\(run)-\(writer)-\(n)"))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = (ContinuousClock.now - started).seconds
            let stats = store.commitStatistics
            let head = try store.head()
            let appended = before.distance(to: head.position)
            print(
                "appended \(appended) events in \(String(format: "%.2f", elapsed)) s "
                    + "(\(Int(Double(appended) / elapsed)) durable events/s, "
                    + "\(String(format: "%.1f", stats.eventsPerCommit)) events per commit)")
            print("head position \(head.position), head hash \(head.hash.hex)")
            let report = try store.verify()
            if let problem = report.problem { throw CLIError("verify failed at \(problem)") }
            print("verify: ok, \(report.events) events in \(report.streams) streams")
        } catch {
            exitWithOneLine(error)
        }
    }
}
