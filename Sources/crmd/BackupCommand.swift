import ArgumentParser
import EventStore
import Foundation
import KeyValue

/// `crmd backup DEST`: a hot, consistent, compacted copy of a data directory.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a data directory (log, keys, access file) while it is being served.",
        discussion: """
            The log and the keys are each copied in one read transaction (mdb_env_copy2 with
            compaction), so each copy is consistent even while the daemon writes; keys destroyed
            by customer.forget are not in the copy. Projections are rebuilt from the log, so they
            are left out unless --projections is given. DEST must be empty or not exist.
            `crmd verify --data DEST` checks the copy; `crmd serve --data DEST` serves it.

            Example:
              crmd backup /backups/crm-2026-11-22 --data ./crm-data
            """)

    @OptionGroup var data: DataOptions

    @Argument(help: "The directory to write the copy into.")
    var destination: String

    @Flag(help: "Copy the projections too (otherwise they are rebuilt when the copy is served).")
    var projections = false

    /// Copies the log, the keys, the access file and (when asked) the projections of `data`
    /// into `destination`, each consistently even while a daemon writes; returns the log's head.
    @discardableResult
    static func copy(
        _ data: DataOptions, to destination: String, projections: Bool
    ) throws -> (position: Position, hash: EventHash) {
        let manager = FileManager.default
        let store = try openLogReadOnly(data)
        try store.backup(to: destination + "/log")
        let head = try store.head()
        store.close()
        if manager.fileExists(atPath: data.data + "/keys/data.mdb") {
            let keys = try KeyStore(directory: data.data + "/keys")
            try keys.backup(to: destination + "/keys")
            keys.close()
        }
        if manager.fileExists(atPath: data.data + "/access.json") {
            try manager.copyItem(atPath: data.data + "/access.json", toPath: destination + "/access.json")
        }
        if projections, manager.fileExists(atPath: data.data + "/projections/data.mdb") {
            let state = try KeyValueStore(directory: data.data + "/projections", tables: [])
            try state.backup(to: destination + "/projections")
            state.close()
        }
        return head
    }

    func run() throws {
        do {
            let manager = FileManager.default
            if manager.fileExists(atPath: destination), !(try manager.contentsOfDirectory(atPath: destination)).isEmpty
            {
                throw CLIError("\(destination) is not empty")
            }
            let head = try BackupCommand.copy(data, to: destination, projections: projections)
            print(
                "backup: \(destination) holds the log up to position \(head.position) (head \(head.hash.hex.prefix(16))…); check it with crmd verify --data \(destination)"
            )
        } catch {
            exitWithOneLine(error)
        }
    }
}
