import CRMEvents
import Door
import JSONKit

/// One command of docs/protocol.md: its name, who may send it, the schema of its arguments and how it decides its events.
struct CommandDefinition: Sendable {
    let name: String
    /// Who may send it (docs/access.md).
    let audience: Audience
    let schema: Schema
    /// Destroys the customer's data key once the events are durable.
    var forgetsCustomer = false
    /// Reassigns, after the commit, customers given to the leaving agent while it was in flight.
    var sweepsCustomers = false
    /// Whether it takes an `at`: when the facts it records happened (business time). Every
    /// command that records something that happened does; forgetting a customer happens now.
    let dated: Bool
    /// Decodes validated arguments (before the state is read) into the decision to make on it.
    let prepare: @Sendable (JSON) throws(WireError) -> Decider

    /// A command with decoded arguments, ready to be decided on the company's current state.
    typealias Decider = @Sendable (DecisionContext) throws(WireError) -> Decision

    init<A: Decodable & Sendable>(
        _ name: String, _ audience: Audience, _ args: A.Type, _ schema: Schema, forgetsCustomer: Bool = false,
        sweepsCustomers: Bool = false, dated: Bool = true, _ decide: @escaping @Sendable (A, DecisionContext) throws(WireError) -> Decision
    ) {
        self.name = name
        self.audience = audience
        self.schema = dated ? schema.adding("at", .dateTime, required: false) : schema
        self.dated = dated
        self.forgetsCustomer = forgetsCustomer
        self.sweepsCustomers = sweepsCustomers
        self.prepare = { (json: JSON) throws(WireError) -> Decider in
            let args = try decodeArgs(A.self, json)
            return { (context: DecisionContext) throws(WireError) -> Decision in try decide(args, context) }
        }
    }
}

/// How far ahead of the daemon's clock a fact's `at` may be: a client's clock a little fast is
/// not an error, a fact dated tomorrow is.
public let allowedClockSkew: Int64 = 5 * 60 * 1_000_000

/// Every command crmd accepts, by op name.
public enum CommandCatalogue {
    static let definitions: [CommandDefinition] =
        CustomerOps.all + InteractionOps.all + DocumentOps.all
        + DealOps.all + FollowupOps.all + CompanyOps.all

    static let ops: [String: CommandDefinition] = Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// Whether `op` is a command (the daemon's routing check, once per request).
    public static func contains(_ op: String) -> Bool { ops[op] != nil }

    /// The op names, sorted.
    public static var names: [String] { ops.keys.sorted() }

    /// Who may send `op`, or nil when it is not a command.
    public static func audience(_ op: String) -> Audience? { ops[op]?.audience }

    /// The JSON Schema of an op's arguments.
    public static func argumentSchema(_ op: String) -> Schema? { ops[op]?.schema }

    /// Checks a command as far as it can be without the company's state: the op exists, the
    /// arguments match its schema and decode into its typed arguments (what the fuzzer drives).
    public static func check(_ op: String, _ args: JSON) throws(WireError) {
        guard let definition = ops[op] else { throw WireError(.unknownOp, "unknown op \(op)") }
        if let violation = definition.schema.validate(args) {
            throw WireError(.invalidArgs, violation.description, path: violation.path)
        }
        _ = try definition.prepare(args)
    }
}
