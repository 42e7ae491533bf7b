import CRMEvents
import Door
import EventStore
import JSONKit
import KeyValue

/// `customer.get` and `customer.history`: folds of one customer's events, now or as of a time.
public struct CustomerQueries: Sendable {
    let events: CustomerEventReader
    let keys: KeyStore

    /// Answers from `projector`'s customer timeline, opening personal data with `keys`.
    public init(projector: Projector, keys: KeyStore) {
        self.events = CustomerEventReader(projector: projector)
        self.keys = keys
    }

    private func key(_ customerId: String) throws -> DataKey? {
        let owner = DataKey.owner(ofCustomer: customerId)
        return try keys.key(for: owner).map { DataKey(owner: owner, bytes: $0) }
    }

    /// The customer file. With `asOf`, exactly as the log knew it at that recorded time; with
    /// `at`, as things stood at that business time according to everything the log knew (then
    /// or now): the facts that had happened by `at`, applied in the order they happened.
    public func get(_ customerId: String, asOf: Timestamp? = nil, at: Timestamp? = nil) throws -> CustomerFile {
        try get(customerId, facts(customerId, asOf: asOf, at: at), key: key(customerId), asOf: asOf, at: at)
    }

    /// The customer's events the file at `asOf` and `at` is folded from, in the order they apply.
    private func facts(_ customerId: String, asOf: Timestamp?, at: Timestamp?) throws -> [ProjectedEvent] {
        var history = try asOf.map { try events.events(of: customerId, asOf: $0) } ?? events.events(of: customerId)
        if let at {
            history = history.enumerated()
                .filter { $0.element.at <= at }
                .sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }
                .map(\.element)
        }
        return history
    }

    private func get(
        _ customerId: String, _ history: [ProjectedEvent], key: DataKey?, asOf: Timestamp?, at: Timestamp?
    ) throws -> CustomerFile {
        let file = CustomerFile.fold(history, key: key)
        guard file.exists else {
            var message = "no customer \(customerId)"
            if let asOf { message += " as the log knew it at \(asOf.rfc3339)" }
            if let at { message += " as things stood at \(at.rfc3339)" }
            throw WireError(.notFound, message, path: "/customerId")
        }
        return file
    }

    /// The file as `customer.get` answers it: `get`'s file with the times it was asked for and,
    /// when `changes`, the field changes behind it (what `customer.history` lists, from the same
    /// events, so a page showing both reads the customer once).
    public func answer(
        _ customerId: String, asOf: Timestamp? = nil, at: Timestamp? = nil, changes: Bool = false
    ) throws -> JSON {
        let history = try facts(customerId, asOf: asOf, at: at)
        let key = try key(customerId)
        let file = try get(customerId, history, key: key, asOf: asOf, at: at).json
        guard case .object(var members) = file else { return file }
        if let asOf { members["asOf"] = .string(asOf.rfc3339) }
        if let at { members["at"] = .string(at.rfc3339) }
        if changes { members["changes"] = .array(CustomerQueries.changes(history, key: key, field: nil)) }
        return .object(members)
    }

    /// Every change to the customer's fields and agent: who, when, old and new (decrypted), oldest first.
    public func history(_ customerId: String, field: String? = nil) throws -> [JSON] {
        let all = try events.events(of: customerId)
        guard all.contains(where: { if case .customerRegistered = $0.event { return true } else { return false } })
        else {
            throw WireError(.notFound, "no customer \(customerId)", path: "/customerId")
        }
        return CustomerQueries.changes(all, key: try key(customerId), field: field)
    }

    /// The field and agent changes `events` make, in their order, values opened with `key`.
    static func changes(_ events: [ProjectedEvent], key: DataKey?, field: String?) -> [JSON] {
        var file = CustomerFile(key: key)
        var changes: [JSON] = []
        for event in events {
            let editedField: String? = if case .customerFieldEdited(let e) = event.event { e.field } else { nil }
            let before = editedField.map { file.value(ofField: $0) } ?? .null
            file.apply(event)
            let recorded = event.recorded
            var changed: [(String, JSON, JSON)] = []
            switch event.event {
            case .customerRegistered:
                for name in CustomerFieldEdited.fields.keys.sorted() + ["agentId"] {
                    let value = file.value(ofField: name)
                    if value != .null, value != .array([]) { changed.append((name, .null, value)) }
                }
            case .customerFieldEdited(let e):
                changed.append((e.field, before, file.value(ofField: e.field)))
            case .customerAssigned(let e):
                changed.append(("agentId", .string(e.from), .string(e.to)))
            case .customerForgotten:
                changed.append(("erased", false, true))
            default:
                continue
            }
            for (name, old, new) in changed where field == nil || field == name {
                var entry: JSONObject = [
                    "position": .int(Int64(recorded.position)), "at": .string(event.at.rfc3339),
                    "recordedAt": .string(recorded.recordedAt.rfc3339),
                    "by": .string(recorded.actor.principal), "field": .string(name), "old": old, "new": new,
                ]
                if let uid = recorded.actor.uid { entry["uid"] = .int(Int64(uid)) }
                if case .customerAssigned(let e) = event.event { entry["reason"] = .string(e.reason) }
                changes.append(.object(entry))
            }
        }
        return changes
    }
}
