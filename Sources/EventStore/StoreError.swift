import CLMDB
import Foundation

/// Why the store refused or failed an operation. Each case carries what a caller needs to decide what to do next.
public enum StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The stream was not at the version the appender expected; nothing was written.
    case wrongExpectedVersion(stream: StreamName, expected: ExpectedVersion, actual: StreamVersion)
    /// The request id was already used for a request on other streams; nothing was written.
    case duplicateRequestID(requestId: String, firstStreams: [StreamName])
    /// The request itself is malformed (empty, a name too long, a stream named twice, ...).
    case invalidRequest(String)
    /// A stored event or index entry does not check out.
    case corrupted(position: Position?, reason: String)
    /// The memory map is full and may not grow further (the configured maximum was reached).
    case mapFull(mapSize: Int)
    /// The disk (or the file size limit) has no room left; reads keep working.
    case diskFull
    /// The log was written by a newer crmd, in a stored format this one cannot read.
    case unsupportedFormat(found: UInt32, supported: UInt32)
    /// The store was opened read-only.
    case readOnly
    /// The store has been closed.
    case closed
    /// Another process holds the lock at `path`: it already writes this log, or bulk loads this store.
    case locked(path: String, holder: Int32?)
    /// A destination for a backup already holds files.
    case destinationNotEmpty(path: String)
    /// An I/O or LMDB error the store could not handle, with the operation that failed.
    case storage(code: Int32, operation: String, message: String)

    public var description: String {
        switch self {
        case let .wrongExpectedVersion(stream, expected, actual):
            return "stream '\(stream)' is at version \(actual), not at \(expected) as expected"
        case let .duplicateRequestID(id, streams):
            return
                "request id '\(id)' was already used for a request on \(streams.map(\.rawValue).joined(separator: ", "))"
        case let .invalidRequest(reason):
            return "invalid append: \(reason)"
        case let .corrupted(position, reason):
            return position.map { "log corrupted at position \($0): \(reason)" } ?? "log corrupted: \(reason)"
        case let .mapFull(size):
            return "the log's memory map is full at \(size) bytes and may not grow further"
        case .diskFull:
            return "the disk is full: writes are refused until space is freed, reads keep working"
        case let .unsupportedFormat(found, supported):
            return "the log uses stored format \(found); this crmd reads formats up to \(supported)"
        case .readOnly:
            return "the store was opened read-only"
        case .closed:
            return "the store is closed"
        case let .locked(path, holder):
            let who = holder.map { "process \($0)" } ?? "another process"
            return "\(who) already writes here (it holds \(path)); open it read-only or stop that process first"
        case let .destinationNotEmpty(path):
            return "backup destination \(path) is not empty"
        case let .storage(code, operation, message):
            return "storage error in \(operation): \(message) (\(code))"
        }
    }
}

extension StoreError {
    /// Maps an LMDB or POSIX error code to what a caller can act on.
    init(_ error: LMDBError) {
        switch error.code {
        case LMDBEnvironment.closedCode:
            self = .closed
        case 28 /* ENOSPC */, 122 /* EDQUOT */, 27 /* EFBIG */:
            self = .diskFull
        default:
            self = .storage(
                code: error.code, operation: error.operation, message: String(cString: mdb_strerror(error.code)))
        }
    }

    /// Whether trying the same operation again later may succeed: the disk may get room back,
    /// an I/O failure may pass, a broken environment (MDB_PANIC) is reopened by the next
    /// transaction. Other storage errors (a record that does not decode, say) will not pass.
    public var isTransient: Bool {
        switch self {
        case .diskFull: return true
        case let .storage(code, _, _): return code == EIO || code == MDB_PANIC
        default: return false
        }
    }

    /// A failed system call: `operation` and the error `code` (errno, read by the caller right
    /// after the call) with its text.
    package static func system(_ operation: String, code: Int32 = errno) -> StoreError {
        .storage(code: code, operation: operation, message: String(cString: strerror(code)))
    }

    /// Wraps any error thrown inside the store as a `StoreError`.
    package static func wrap(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        if let error = error as? LMDBError { return StoreError(error) }
        return .storage(code: -1, operation: "store", message: String(describing: error))
    }
}
