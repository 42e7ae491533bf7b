import EventStore

/// The error codes of the wire (docs/protocol.md): the one vocabulary commands, queries, the
/// router and the schemas use for what went wrong.
public enum ErrorCode: String, Sendable, CaseIterable {
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

/// Why a request was refused, as the wire reports it: wherever it is raised (a command, a query,
/// the access policy, the router), an error keeps its code on its way to the client.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The class of failure a client acts on.
    public var code: ErrorCode
    /// What happened, for a person.
    public var message: String
    /// JSON pointer to the argument at fault, when one is.
    public var path: String?
    /// For rule violations: which business rule, e.g. `overpayment`.
    public var rule: String?

    /// Describes a refusal.
    public init(_ code: ErrorCode, _ message: String, path: String? = nil, rule: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
        self.rule = rule
    }

    /// A business rule refused the request.
    public static func rule(_ rule: String, _ message: String, path: String? = nil) -> WireError {
        WireError(.ruleViolation, message, path: path, rule: rule)
    }

    /// An argument is malformed.
    public static func invalid(_ path: String, _ message: String) -> WireError {
        WireError(.invalidArgs, "\(path): \(message)", path: path)
    }

    /// Something the request refers to does not exist.
    public static func notFound(_ what: String, _ id: String, path: String? = nil) -> WireError {
        WireError(.notFound, "no \(what) \(id)", path: path)
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

    /// Any error met while answering, in the wire's terms: refusals keep their code, store
    /// errors are mapped, anything else is an internal failure.
    public init(wrapping error: any Error) {
        switch error {
        case let error as WireError: self = error
        case let error as StoreError: self.init(error)
        default: self.init(.internal, "\(error)")
        }
    }
}
