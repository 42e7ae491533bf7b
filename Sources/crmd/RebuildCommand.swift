import ArgumentParser
import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// `crmd rebuild`: folds the whole log into projections again.
struct RebuildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rebuild",
        abstract: "Rebuild projections from position 1, with progress.",
        discussion: """
            Empties the named projections (or all of them) and folds every event into them again,
            in batches, each batch and its checkpoint in one transaction. On a terminal a progress
            bar shows events done, the rate and the time left; otherwise one line per second. On a
            directory a daemon serves, the daemon does the rebuild (it owns the projections).

            Examples:
              crmd rebuild --all --data ./crm-data
              crmd rebuild crm-facts --data ./crm-data
            """)

    @OptionGroup var data: DataOptions

    @Argument(help: "Projections to rebuild (customer-timeline, event-counts, crm-facts).")
    var names: [String] = []

    @Flag(help: "Rebuild every projection.")
    var all = false

    func validate() throws {
        guard all != !names.isEmpty else { throw ValidationError("name the projections to rebuild, or give --all") }
    }

    func run() throws {
        do {
            let socket = data.data + "/crmd.sock"
            if let client = try? SocketClient(path: socket) {
                FileHandle.standardError.write(Data("a daemon serves \(data.data); asking it to rebuild …\n".utf8))
                var args = JSONObject()
                if !all { args["names"] = .array(names.map(JSON.string)) }
                let response = try client.roundTrip(
                    .object(["id": 1, "op": "projections.rebuild", "args": .object(args)]))
                guard response["ok"] == true else {
                    throw CLIError(
                        "\(response["error"]?["code"]?.stringValue ?? "error"): \(response["error"]?["message"]?.stringValue ?? "")"
                    )
                }
                print(
                    "rebuilt \(response["result"]?["rebuilt"]?.serialized() ?? "") up to position \(response["result"]?["head"]?.serialized() ?? "?")"
                )
                return
            }
            let store = try openLogReadOnly(data)
            let keys = try KeyStore(directory: data.data + "/keys")
            let projector = try Projector(
                store: store, directory: data.data + "/projections", projections: Projections.all(keys: keys))
            let terminal = isatty(2) == 1
            let last = LastPrint()
            try projector.rebuild(all ? nil : names) { progress in
                guard last.due(terminal: terminal) || progress.done == progress.total else { return }
                let percent = progress.total == 0 ? 100 : progress.done * 100 / progress.total
                let line =
                    "\(progress.done)/\(progress.total) events  \(Int(progress.rate)) events/s  ETA \(Int(progress.eta)) s"
                if terminal {
                    let bar =
                        String(repeating: "█", count: percent / 4) + String(repeating: "░", count: 25 - percent / 4)
                    FileHandle.standardError.write(Data("\r\(bar) \(percent)%  \(line)   ".utf8))
                } else {
                    FileHandle.standardError.write(Data("rebuild: \(line)\n".utf8))
                }
            }
            if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
            let status = try projector.status()
            print(
                "rebuilt \(status.filter { all || names.contains($0.name) }.map(\.name).joined(separator: ", ")) up to position \(status.map(\.checkpoint).max() ?? 0)"
            )
            projector.close()
            keys.close()
            store.close()
        } catch {
            exitWithOneLine(error)
        }
    }
}

/// Throttles progress output: ten times a second on a terminal, once a second otherwise.
final class LastPrint: @unchecked Sendable {
    // @unchecked: called from the one thread that runs the rebuild.
    private var last = ContinuousClock.now - .seconds(10)

    func due(terminal: Bool) -> Bool {
        let now = ContinuousClock.now
        guard now - last >= (terminal ? .milliseconds(100) : .seconds(1)) else { return false }
        last = now
        return true
    }
}
