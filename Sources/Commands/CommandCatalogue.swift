import CRMEvents

/// One op of SPEC §5: its name, the schema of its arguments and how it decides its events.
struct CommandDefinition: Sendable {
    let name: String
    let schema: Schema
    /// Destroys the customer's data key once the events are durable.
    var forgetsCustomer = false
    let decide: @Sendable (JSON, DecisionContext) throws(CommandError) -> Decision

    init<A: Decodable & SendableMetatype>(_ name: String, _ args: A.Type, _ schema: Schema, forgetsCustomer: Bool = false,
                       _ decide: @escaping @Sendable (A, DecisionContext) throws(CommandError) -> Decision) {
        self.name = name
        self.schema = schema
        self.forgetsCustomer = forgetsCustomer
        self.decide = { (json: JSON, context: DecisionContext) throws(CommandError) -> Decision in
            try decide(try decodeArgs(A.self, json), context)
        }
    }
}

/// Every command crmd accepts, by op name.
public enum CommandCatalogue {
    static let definitions: [CommandDefinition] = CustomerOps.all + InteractionOps.all + DocumentOps.all
        + DealOps.all + FollowupOps.all + CompanyOps.all

    static let ops: [String: CommandDefinition] = Dictionary(uniqueKeysWithValues: definitions.map { ($0.name, $0) })

    /// The op names, sorted.
    public static var names: [String] { ops.keys.sorted() }

    /// The JSON Schema of an op's arguments.
    public static func argumentSchema(_ op: String) -> Schema? { ops[op]?.schema }
}
