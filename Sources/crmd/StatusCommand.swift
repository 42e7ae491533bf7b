import ArgumentParser
import EventStore
import Foundation

/// `crmd status`: the log's head and size, offline.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the log's head position, head hash, streams and size.",
        discussion: """
            Example:
              crmd status --data ./crm-data
            """)

    @OptionGroup var data: DataOptions

    func run() throws {
        do {
            let status = try openLogReadOnly(data).status()
            print("head position  \(status.headPosition)")
            print("head hash      \(status.headHash.hex)")
            print("last recorded  \(status.lastRecordedAt?.rfc3339 ?? "-")")
            print("streams        \(status.streams)")
            print("request ids    \(status.requests)")
            print("map            \(status.usedBytes / 1024) KiB used of \(status.mapSize / 1024) KiB")
            print("readers        \(status.readersInUse) of \(status.maxReaders) slots in use")
        } catch {
            exitWithOneLine(error)
        }
    }
}
