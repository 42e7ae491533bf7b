import ArgumentParser
import EventStore
import Foundation

/// A failure reported to the user as one line on stderr, with a non-zero exit.
struct CLIError: Error, CustomStringConvertible {
    let message: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// Prints `error` as one line and exits with its code.
func exitWithOneLine(_ error: any Error) -> Never {
    let message: String
    var code: Int32 = 1
    switch error {
    case let error as CLIError:
        message = error.message
        code = error.exitCode
    case let error as StoreError:
        message = error.description
    default:
        message = String(describing: error)
    }
    FileHandle.standardError.write(Data("crmd: \(message)\n".utf8))
    exit(code)
}

/// Opens the log of a data directory for reading, with a clear message when there is none.
func openLogReadOnly(_ data: DataOptions) throws -> EventStore {
    guard FileManager.default.fileExists(atPath: data.logDirectory + "/data.mdb") else {
        throw CLIError("no event log in \(data.data) (expected \(data.logDirectory)/data.mdb)")
    }
    var options = StoreOptions()
    options.readOnly = true
    return try EventStore(directory: data.logDirectory, options: options)
}
