import CRMEvents
import EventStore

/// Why a command was refused, in the error codes of SPEC §4.
public struct CommandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The wire error codes.
    public enum Code: String, Sendable {
        case badRequest = "bad_request"
        case unknownOp = "unknown_op"
        case invalidArgs = "invalid_args"
        case notFound = "not_found"
        case conflict
        case ruleViolation = "rule_violation"
        case forbidden
        case unavailable
        case `internal`
    }

    /// The class of failure a client acts on.
    public var code: Code
    /// What happened, for a person.
    public var message: String
    /// JSON pointer to the argument at fault, when one is.
    public var path: String?
    /// For rule violations: which business rule, e.g. `overpayment`.
    public var rule: String?

    /// Describes a refusal.
    public init(_ code: Code, _ message: String, path: String? = nil, rule: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.rule = rule
    }

    /// A business rule refused the command.
    public static func rule(_ rule: String, _ message: String, path: String? = nil) -> CommandError {
        CommandError(.ruleViolation, message, path: path, rule: rule)
    }

    /// An argument is malformed.
    public static func invalid(_ path: String, _ message: String) -> CommandError {
        CommandError(.invalidArgs, "\(path): \(message)", path: path)
    }

    /// Something the command refers to does not exist.
    public static func notFound(_ what: String, _ id: String, path: String? = nil) -> CommandError {
        CommandError(.notFound, "no \(what) \(id)", path: path)
    }

    public var description: String { "\(code.rawValue): \(message)" }

    /// Maps a store error to the wire codes: conflicts, full disks and broken storage.
    public init(_ error: StoreError) {
        switch error {
        case .wrongExpectedVersion, .duplicateRequestID:
            self.init(.conflict, error.description)
        case _ where error.isTransient, .mapFull, .readOnly, .closed, .locked:
            // A failed write (a full or failing disk): the request may succeed once it passes.
            self.init(.unavailable, error.description)
        case .invalidRequest:
            self.init(.invalidArgs, error.description)
        default:
            self.init(.internal, error.description)
        }
    }
}
