/// What an appender believes about a stream's current version; the append fails otherwise.
public enum ExpectedVersion: Hashable, Sendable, CustomStringConvertible {
    /// Append whatever the stream's version.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must exist (at any version).
    case streamExists
    /// The stream must be exactly at this version (0 means it does not exist).
    case exact(StreamVersion)

    /// Whether a stream currently at `version` (0 when absent) satisfies this expectation.
    public func accepts(_ version: StreamVersion) -> Bool {
        switch self {
        case .any: return true
        case .noStream: return version == 0
        case .streamExists: return version > 0
        case .exact(let expected): return version == expected
        }
    }

    public var description: String {
        switch self {
        case .any: return "any version"
        case .noStream: return "no stream"
        case .streamExists: return "an existing stream"
        case .exact(let v): return "version \(v)"
        }
    }
}
