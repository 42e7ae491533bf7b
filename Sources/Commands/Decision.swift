import CRMEvents
import Crypto
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue

/// What a command decided to write: events per stream, with the versions they were decided on.
///
/// Events stay typed here; they are encoded once the state's lock is released.
struct Decision: Sendable {
    /// Events for one stream, expected at the version the decision saw.
    struct Append: Sendable {
        var stream: StreamName
        var expected: ExpectedVersion
        var events: [CRMEvent]
    }

    /// The command's target stream (its result names this stream).
    var target: StreamName
    /// When its facts happened (business time): the command's `at`, else the time it was decided.
    var at: Timestamp
    /// The id of the entity the command created or acted on.
    var id: String
    /// Every stream written, target first.
    var appends: [Append]
    /// Streams the decision relied on but does not write, with the versions it saw.
    var conditions: [StreamCondition] = []
    /// Data keys the decision made and sealed with, to be stored durably before its events are
    /// appended (outside the state's lock, group-committed with other decisions' keys).
    var newKeys: [(owner: String, bytes: [UInt8])] = []

    /// The appends as the store takes them.
    var encoded: [StreamAppend] {
        appends.map { append in
            StreamAppend(
                stream: append.stream, expected: append.expected, events: append.events.map { $0.proposed(at: at) })
        }
    }

    /// The facts in the order the store records them.
    var facts: [Fact] { appends.flatMap { $0.events.map { Fact($0, at: at) } } }

    /// The event types in the order the store records them.
    var eventTypes: [String] { appends.flatMap { $0.events.map(\.eventType) } }
}

/// The streams a decision read facts from (a customer's status, an agent's employment, a
/// product's price); the decision commits only if none of them moved meanwhile.
final class ReadStreams {
    var streams: Set<StreamName> = []
}

/// What a decision may consult: the company's state at the head, the request, keys and the clock.
struct DecisionContext {
    let state: CompanyState
    let command: CommandContext
    let store: EventStore
    let keys: KeyStore
    let now: Timestamp
    /// When the command's facts happened (business time): its `at`, else `now`.
    let at: Timestamp
    let entropy: Entropy
    /// Filled by the lookups below, so that every fact a rule used is guarded.
    let read = ReadStreams()

    /// The conditions that make `decision` commit only on the state it saw.
    func conditions(for decision: Decision) -> [StreamCondition] {
        let written = Set(decision.appends.map(\.stream))
        return read.streams.subtracting(written).sorted().map { StreamCondition(stream: $0, expected: expected($0)) }
    }

    /// The version to expect of `stream` when writing it: what the decision saw.
    func expected(_ stream: StreamName) -> ExpectedVersion {
        let version = state.version(stream)
        return version == 0 ? .noStream : .exact(version)
    }

    /// A decision writing `events` to one target stream, expected at the version the state saw.
    func write(_ stream: StreamName, id: String, _ events: [CRMEvent]) -> Decision {
        Decision(
            target: stream, at: at, id: id,
            appends: [Decision.Append(stream: stream, expected: expected(stream), events: events)])
    }

    /// A decision adding independent facts to `stream` at whatever version it has: nothing about
    /// them depends on the stream's earlier events, so concurrent ones must not conflict. What
    /// they do depend on (the customer, the agent) is guarded through `read`.
    func add(_ stream: StreamName, id: String, _ events: [CRMEvent]) -> Decision {
        Decision(
            target: stream, at: at, id: id, appends: [Decision.Append(stream: stream, expected: .any, events: events)])
    }

    /// The id from the arguments, else one derived from the request id, else a random one.
    ///
    /// Deriving it from the request id makes a retried request name the same stream, so the
    /// store recognises the retry and returns the first result instead of creating a twin.
    func newID(_ given: String?, prefix: String) -> String {
        if let given { return given }
        guard let requestId = command.requestId else {
            guard let seeded = entropy.bytesIfSeeded(10) else { return EntityID.generate(prefix: prefix).rawValue }
            return prefix + "-" + seeded.lowercaseHex
        }
        let digest = SHA256.hash(data: Data("\(command.actor.principal)\u{0}\(requestId)".utf8))
        return prefix + "-" + digest.prefix(10).lowercaseHex
    }

    /// The customer, refusing unknown and forgotten ones.
    func customer(_ id: String, path: String = "/customerId") throws(WireError) -> CompanyState.Customer {
        guard let customer = state.customers[id] else { throw .notFound("customer", id, path: path) }
        read.streams.insert(AggregateKind.customer.stream(try! EntityID(id)))
        guard !customer.forgotten else {
            throw .rule(
                "customer_forgotten", "customer \(id) was forgotten; nothing more can be recorded about them",
                path: path)
        }
        return customer
    }

    /// The agent id to record: the argument, else the acting principal; it must be an active agent.
    func activeAgent(_ given: String?, path: String = "/agentId") throws(WireError) -> String {
        try agent(given, path: path) { (id, _) throws(WireError) in
            throw .rule("agent_outside_company", "agent \(id) has left the company", path: path)
        }
    }

    /// The agent id to record on a fact (the argument, else the acting principal): an agent of
    /// the company when the fact happened. History entered late may name staff who have left
    /// since, as long as it happened before they left.
    func recordingAgent(_ given: String?, path: String = "/agentId") throws(WireError) -> String {
        try agent(given, path: path) { (id, left) throws(WireError) in
            guard at >= left else { return }
            throw .rule(
                "agent_outside_company", "agent \(id) left the company on \(left.rfc3339); a fact after that is not theirs",
                path: path)
        }
    }

    /// An agent of the company, read into the decision; `departed` decides about one who left
    /// (at the time given), throwing to refuse.
    private func agent(
        _ given: String?, path: String, departed: (String, Timestamp) throws(WireError) -> Void
    ) throws(WireError) -> String {
        let id = given ?? command.actor.principal
        guard let agent = state.agents[id] else {
            if given == nil { throw .invalid(path, "is required when the request is not sent as an agent") }
            throw .rule("agent_outside_company", "\(id) is not an agent of the company", path: path)
        }
        if agent.left { try departed(id, agent.leftAt ?? at) }
        read.streams.insert(AggregateKind.agent.stream(try! EntityID(id)))
        return id
    }

    /// Notes that the decision relied on `stream`'s current state.
    func relied(on kind: AggregateKind, _ id: String) {
        if let entity = try? EntityID(id) { read.streams.insert(kind.stream(entity)) }
    }

    /// The customer's data key, for sealing personal data.
    func key(forCustomer id: String) throws(WireError) -> DataKey {
        let stored: [UInt8]?
        do { stored = try keys.key(for: CommandService.keyOwner(id)) } catch {
            throw WireError(error as? StoreError ?? .closed)
        }
        guard let stored else {
            throw .rule("customer_forgotten", "customer \(id) has no data key; their personal data was erased")
        }
        var key = DataKey(owner: CommandService.keyOwner(id), bytes: stored)
        key.entropy = entropy
        return key
    }

    /// Refuses a fact dated before `earlier`, the business time of what it follows (a payment
    /// and its invoice, a deal's move and its opening), with the rule's own reason.
    func notBefore(_ earlier: Timestamp, rule: String, _ message: String) throws(WireError) {
        guard at >= earlier else {
            throw .rule(rule, "\(message) (\(earlier.rfc3339)); at \(at.rfc3339) is before it", path: "/at")
        }
    }

    /// Parses an RFC 3339 argument; the schema checked its shape, this checks it names a real time.
    func time(_ text: String, path: String) throws(WireError) -> Timestamp {
        guard let time = Timestamp(rfc3339: text) else { throw .invalid(path, "is not a valid time") }
        return time
    }

    /// Checks that a date argument names a real day.
    func date(_ text: String, path: String) throws(WireError) {
        guard Timestamp(rfc3339: text + "T00:00:00Z") != nil else { throw .invalid(path, "is not a valid date") }
    }
}

/// Decodes validated arguments into a command's argument struct.
func decodeArgs<A: Decodable>(_ type: A.Type, _ args: JSON) throws(WireError) -> A {
    do {
        return try args.decode(A.self)
    } catch {
        throw WireError(.invalidArgs, "arguments do not match the command: \(error)")
    }
}
