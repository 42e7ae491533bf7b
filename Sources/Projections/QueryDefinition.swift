import Door
import EventStore
import JSONKit

/// One query of docs/protocol.md: its name, who may ask, the schema of its arguments, and how it
/// is answered from the read models. The query side's twin of the command definition.
public struct QueryDefinition: Sendable {
    /// The op name, e.g. `report.sales`.
    public let name: String
    /// Who may ask (docs/access.md).
    public let audience: Audience
    /// The JSON Schema of its arguments.
    public let schema: Schema
    /// Whether the read models are brought up to the log's head before answering (the log's own
    /// queries and status read the log, not the models).
    let readsModels: Bool
    /// Decodes validated arguments and answers them.
    let answer: @Sendable (JSON, QueryContext) throws -> JSON

    init<A: Decodable & Sendable>(
        _ name: String, _ audience: Audience, _ args: A.Type, _ schema: Schema, readsModels: Bool = true,
        _ handler: @escaping @Sendable (A, QueryContext) throws -> JSON
    ) {
        self.name = name
        self.audience = audience
        self.schema = schema
        self.readsModels = readsModels
        self.answer = { json, context in
            let args: A
            do { args = try json.decode(A.self) } catch {
                throw WireError(.invalidArgs, "arguments do not match the query: \(error)")
            }
            return try handler(args, context)
        }
    }
}

/// What a query handler answers from: the read side, and how far the caller's rights reach.
struct QueryContext {
    /// The read models, keys and clock.
    let queries: CRMQueries
    /// The customers the caller may see (an agent's search is narrowed to their own).
    let scope: AccessScope
    /// Who asks (the principal, or the person a gateway acts as).
    let caller: String
}

/// Arguments of a query that takes none.
struct NoArgs: Decodable, Sendable {}

/// An RFC 3339 argument as microseconds: the schema checked its shape, this checks it names a real time.
/// The instant a point-in-time argument names: an RFC 3339 time, or a bare date meaning the end
/// of that day (UTC), so that "as of 3 March" includes everything of 3 March.
public func instant(_ text: String, _ path: String) throws(WireError) -> Timestamp {
    guard let time = Timestamp(rfc3339: text) else { throw WireError.invalid(path, "is not a valid time or date") }
    return text.utf8.count == 10 ? Timestamp(microsecondsSince1970: time.microsecondsSince1970 + 86_400_000_000 - 1) : time
}

/// Microseconds since 1970 of an RFC 3339 argument.
func micros(_ text: String, _ path: String) throws(WireError) -> Int64 {
    guard let time = Timestamp(rfc3339: text) else { throw WireError.invalid(path, "is not a valid time") }
    return time.microsecondsSince1970
}
