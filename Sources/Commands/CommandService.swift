import CRMEvents
import Door
import EventStore
import Foundation
import JSONKit
import KeyValue

/// The write side: validates a command, decides its events on the company's current state and
/// appends them durably, retrying on fresh state when another command got in first.
///
/// Thread-safe. Decisions read `state` under the shared side of its lock, so they run on every
/// core at once (sealing personal data and hashing ids take most of their time); folding new
/// events in takes the exclusive side. The appends they produce then meet in the store's group
/// commit, whose conditions catch two decisions that relied on the same facts.
public final class CommandService: Sendable {
    /// The log commands append to.
    public let store: EventStore
    /// The customers' data keys.
    public let keys: KeyStore
    private let state: SharedLocked<CompanyState>
    /// Events this service is appending, by their stored type and payload, waiting for the
    /// catch-up that meets them in the log: it applies them as decided instead of decoding their
    /// payloads again (the write side's hot path). A payload's bytes decide its event entirely,
    /// so a hit is exact, whichever command wrote it and whenever the catch-up runs.
    private let written = Locked<[PayloadKey: Fact]>([:])
    private let clock: @Sendable () -> Timestamp
    /// The role an agent was hired with (`agent` or `manager`), or nil for no active agent; the
    /// access policy uses it when a gateway or admin acts `as` someone.
    public func agentRole(_ agentId: String) throws(WireError) -> Role? {
        try withCurrentState { (state: CompanyState) -> Role? in
            guard let agent = state.agents[agentId], !agent.left else { return nil }
            return Role(rawValue: agent.role)
        }
    }

    /// How many times a command is decided again after losing a race on its streams.
    public static let maxAttempts = 16

    /// Where new data keys, nonces and generated ids get their randomness.
    let entropy: Entropy

    /// Serves commands on `store`, sealing personal data with keys from `keys`; `entropy` is
    /// the system's unless a demo asks for a seeded, reproducible history.
    public init(
        store: EventStore, keys: KeyStore, clock: @escaping @Sendable () -> Timestamp = { .now() },
        entropy: Entropy = .system
    ) {
        self.store = store
        self.keys = keys
        self.clock = clock
        self.entropy = entropy
        self.state = SharedLocked(CompanyState())
    }

    /// The key-store name of a customer's data key.
    static func keyOwner(_ customerId: String) -> String { DataKey.owner(ofCustomer: customerId) }

    /// Runs one command (an op of docs/commands.md) and returns what it wrote, once it is durable.
    public func execute(
        _ op: String, _ args: JSON, context: CommandContext = CommandContext()
    ) async throws(WireError) -> CommandResult {
        guard let definition = CommandCatalogue.ops[op] else {
            throw WireError(.unknownOp, "unknown op \(op)")
        }
        if let violation = definition.schema.validate(args) {
            throw WireError(.invalidArgs, violation.description, path: violation.path)
        }
        let decider = try definition.prepare(args)
        let at = try businessTime(args)
        for _ in 0..<CommandService.maxAttempts {
            let decision: Decision
            do {
                decision = try decide(decider, context, at: at)
            } catch {
                if definition.forgetsCustomer, error.rule == "customer_forgotten",
                    let id = args["customerId"]?.stringValue
                {
                    // Forgotten before, maybe by a run cut off before its key was destroyed: finish the job.
                    try destroyKey(id)
                }
                // A retry of a request that went through may no longer fit today's state.
                if let requestId = context.requestId, let first = try? store.firstResult(ofRequest: requestId) {
                    return try describe(first, requestId: requestId)
                }
                throw error
            }
            // A key stored meanwhile by a racing decision for the same customer wins; this
            // decision sealed with its own, so it is made again with the stored one.
            guard try await storeKeys(decision.newKeys) else { continue }
            let encoded = decision.encoded
            let request = AppendRequest(
                appends: encoded, conditions: decision.conditions, actor: context.actor, requestId: context.requestId,
                correlationId: context.correlationId, causationId: context.causationId)
            let noted = remember(decision, encoded)
            do {
                let result: AppendResult
                do { result = try await store.append(request) } catch {
                    forget(noted)
                    throw error
                }
                if result.duplicate { forget(noted) }
                // The key goes only once CustomerForgotten is durable: a crash in between leaves a
                // readable customer marked forgotten, which the next forget or reconcile finishes.
                if definition.forgetsCustomer { try destroyKey(decision.id) }
                if definition.sweepsCustomers, !result.duplicate { try await sweepCustomers(of: decision, context) }
                return try describe(
                    result, target: decision.target, id: decision.id,
                    types: result.duplicate ? nil : decision.eventTypes)
            } catch let error as StoreError {
                if case .wrongExpectedVersion(let stream, _, _) = error,
                    !(stream == decision.target && context.expectedVersion != nil)
                {
                    continue
                }
                throw WireError(error)
            } catch {
                throw WireError(.internal, "\(error)")
            }
        }
        throw WireError(.conflict, "\(op) lost the race for its streams \(CommandService.maxAttempts) times; try again")
    }

    /// Stores the keys a decision made; false when another key was stored first for an owner.
    private func storeKeys(_ newKeys: [(owner: String, bytes: [UInt8])]) async throws(WireError) -> Bool {
        for (owner, bytes) in newKeys {
            do {
                guard try await keys.storeKey(bytes, for: owner) == bytes else { return false }
            } catch StoreError.invalidRequest {
                throw .rule("customer_forgotten", "\(owner) belonged to a forgotten customer and cannot be reused")
            } catch let error as StoreError {
                throw WireError(error)
            } catch {
                throw WireError(.internal, "\(error)")
            }
        }
        return true
    }

    /// The `at` a dated command was given, parsed (the schema checked only its shape).
    private func businessTime(_ args: JSON) throws(WireError) -> Timestamp? {
        guard let text = args["at"]?.stringValue else { return nil }
        guard let time = Timestamp(rfc3339: text) else { throw .invalid("/at", "is not a valid time") }
        return time
    }

    private func decide(
        _ decider: CommandDefinition.Decider, _ context: CommandContext, at given: Timestamp?
    ) throws(WireError) -> Decision {
        let now = clock()
        let at = given ?? now
        guard at.microsecondsSince1970 <= now.microsecondsSince1970 + allowedClockSkew else {
            throw .rule(
                "at_in_future", "\(at.rfc3339) is in the future; a fact is recorded once it has happened",
                path: "/at")
        }
        return try withCurrentState { (state: CompanyState) throws(WireError) -> Decision in
            let decisionContext = DecisionContext(
                state: state, command: context, store: store, keys: keys, now: now, at: at, entropy: entropy)
            var decision = try decider(decisionContext)
            decision.conditions = decisionContext.conditions(for: decision)
            if let expected = context.expectedVersion, state.version(decision.target) != expected {
                throw WireError(
                    .conflict, "\(decision.target) is at version \(state.version(decision.target)), not \(expected)")
            }
            return decision
        }
    }

    /// A stored event's type and payload: what identifies its decoded form.
    private struct PayloadKey: Hashable {
        var type: String
        var data: [UInt8]

        // The payload in one call: [UInt8]'s own hashing feeds the hasher a byte at a time.
        func hash(into hasher: inout Hasher) {
            hasher.combine(type)
            data.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    /// Notes a decision's events under their payloads before they are appended, so that the
    /// catch-up meeting them in the log, which may run before this command resumes, finds them.
    /// Returns the keys noted, for `forget`.
    private func remember(_ decision: Decision, _ encoded: [StreamAppend]) -> [PayloadKey] {
        let events = decision.facts
        let keys = encoded.flatMap(\.events).map { PayloadKey(type: $0.type, data: $0.data) }
        written.withLock { cache in
            // Bounded: entries of appends that never landed and were never forgotten (a crash
            // of the task in between cannot happen, but memory must not grow).
            if cache.count > 100_000 { cache.removeAll() }
            for (key, event) in zip(keys, events) { cache[key] = event }
        }
        return keys
    }

    /// Drops the notes of an append that wrote nothing (refused, or a retry of an earlier request).
    private func forget(_ keys: [PayloadKey]) {
        written.withLock { cache in
            for key in keys { cache.removeValue(forKey: key) }
        }
    }

    /// Runs `body` on the state with every event committed so far folded in, under the shared
    /// side of the lock; the exclusive side is taken only to fold what is new, and under load
    /// there usually is nothing.
    private func withCurrentState<R>(_ body: (CompanyState) throws(WireError) -> R) throws(WireError) -> R {
        if state.withReadLock({ $0.position }) < store.committedHead {
            try state.withWriteLock { (state: inout CompanyState) throws(WireError) in try catchUp(&state) }
        }
        return try state.withReadLock(body)
    }

    private func catchUp(_ state: inout CompanyState) throws(WireError) {
        do {
            try store.scan(from: state.position + 1) { event in
                if let decided = written.withLock({
                    $0.removeValue(forKey: PayloadKey(type: event.type, data: event.data))
                }) {
                    state.apply(decided, recorded: event)
                } else {
                    try state.apply(event)
                }
                return true
            }
        } catch let error as StoreError {
            throw WireError(error)
        } catch {
            throw WireError(.internal, "the log holds an event the write side cannot read: \(error)")
        }
    }

    /// The company as the write side knows it, caught up to the head (what tests compare).
    func foldedState() throws(WireError) -> CompanyState {
        try withCurrentState { $0 }
    }

    /// Reassigns customers given to a leaving agent by commands that committed after `agent.leave`
    /// was decided but before it committed (later ones fail their condition on the agent's stream).
    private func sweepCustomers(of leave: Decision, _ context: CommandContext) async throws(WireError) {
        guard case .agentLeft(let left)? = leave.appends.first?.events.first else { return }
        for _ in 0..<CommandService.maxAttempts {
            let decision = try withCurrentState { (state: CompanyState) throws(WireError) -> Decision? in
                let stranded = (state.customersByAgent[left.agentId] ?? []).sorted()
                guard !stranded.isEmpty else { return nil }
                let now = clock()
                let context = DecisionContext(
                    state: state, command: context, store: store, keys: keys, now: now, at: now, entropy: entropy)
                return Decision(
                    target: AggregateKind.customer.stream(try! EntityID(stranded[0])), at: now, id: left.agentId,
                    appends: stranded.map { customerId in
                        let stream = AggregateKind.customer.stream(try! EntityID(customerId))
                        return Decision.Append(
                            stream: stream, expected: context.expected(stream),
                            events: [
                                .customerAssigned(
                                    CustomerAssigned(
                                        customerId: customerId, from: left.agentId, to: left.successorId,
                                        reason: "agent_left"))
                            ])
                    })
            }
            guard let decision else { return }
            do {
                _ = try await store.append(
                    AppendRequest(
                        appends: decision.encoded, actor: context.actor,
                        correlationId: context.correlationId ?? context.requestId))
                return
            } catch StoreError.wrongExpectedVersion {
                continue
            } catch {
                throw WireError(error as? StoreError ?? .closed)
            }
        }
    }

    private func destroyKey(_ customerId: String) throws(WireError) {
        do { try keys.destroy(CommandService.keyOwner(customerId)) } catch {
            throw WireError(
                .unavailable,
                "customer \(customerId) is recorded as forgotten but the key could not be destroyed yet: \(error); send customer.forget again"
            )
        }
    }

    /// Destroys any data key left behind by a forget that was cut off; returns how many.
    ///
    /// The daemon runs this at start, so a crash between the CustomerForgotten commit and the
    /// key's destruction never leaves personal data readable for long.
    public func reconcileForgottenKeys() throws(WireError) -> Int {
        let forgotten = try withCurrentState { (state: CompanyState) -> [String] in
            state.customers.filter(\.value.forgotten).map(\.key)
        }
        var destroyed = 0
        for id in forgotten {
            let owner = CommandService.keyOwner(id)
            guard (try? keys.key(for: owner)) != nil else { continue }
            try destroyKey(id)
            destroyed += 1
        }
        return destroyed
    }

    /// The result of an append; `types` are read back from the log when not known (a duplicate's first result).
    private func describe(
        _ result: AppendResult, target: StreamName, id: String, types known: [String]? = nil
    ) throws(WireError) -> CommandResult {
        guard let primary = result.streams.first(where: { $0.stream == target }) ?? result.streams.first else {
            throw WireError(.internal, "the append returned no streams")
        }
        var types: [String] = known ?? []
        if known == nil {
            do {
                try store.scan(from: result.firstPosition, to: result.lastPosition) { event in
                    types.append(event.type)
                    return true
                }
            } catch {
                throw WireError(.internal, "cannot read back the events just written: \(error)")
            }
        }
        return CommandResult(
            stream: primary.stream, id: id, version: primary.lastVersion, position: result.lastPosition,
            events: types, alsoWrote: result.streams.map(\.stream).filter { $0 != primary.stream },
            duplicate: result.duplicate)
    }

    /// The first result of a request applied before, read back from the log: the id it answered
    /// with is the entity its target stream's first event records (a retry must get the same answer).
    private func describe(_ first: AppendResult, requestId: String) throws(WireError) -> CommandResult {
        let target = first.streams.first?.stream ?? StreamName("")
        var recorded: String?
        do {
            try store.scan(from: first.firstPosition, to: first.lastPosition) { event in
                guard event.stream == target else { return true }
                recorded = try EventCatalogue.decode(event).recordedEntityID
                return false
            }
        } catch {
            throw WireError(.internal, "cannot read back the events of request \(requestId): \(error)")
        }
        let id = recorded ?? AggregateKind.parse(stream: target)?.1.rawValue ?? target.rawValue
        return try describe(first, target: target, id: id)
    }
}

/// The write side answers the access policy from the state its decisions read, caught up to the
/// log's head. A command is authorised as it arrives: one decided a moment later, after its
/// customer was reassigned, is treated like one that arrived a moment earlier.
extension CommandService: AccessFacts {
    /// Whose `record` is, by the write side's state.
    public func ownership(of record: SubjectRecord) throws(WireError) -> Ownership? {
        try withCurrentState { (state: CompanyState) -> Ownership? in
            let customerId: String?
            switch record {
            case .customer(let id): customerId = id
            case .deal(let id): customerId = state.deals[id]?.customerId
            case .invoice(let id): customerId = state.invoices[id]?.customerId
            case .followup(let id): customerId = state.followups[id]?.customerId
            }
            guard let customerId, let customer = state.customers[customerId] else { return nil }
            return Ownership(customerId: customerId, agentId: customer.agentId)
        }
    }
}
