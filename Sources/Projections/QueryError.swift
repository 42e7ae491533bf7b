/// Why a query could not be answered, in the error codes of SPEC §4.
public struct QueryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `not_found`, `invalid_args`, `unavailable` or `internal`.
    public var code: String
    /// What happened, for a person.
    public var message: String
    /// JSON pointer to the argument at fault.
    public var path: String?

    /// Describes a failed query.
    public init(_ code: String, _ message: String, path: String? = nil) {
        self.code = code
        self.message = message
        self.path = path
    }

    public var description: String { "\(code): \(message)" }
}
