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

    /// The customer file; with `asOf`, exactly as the log knew it at that recorded time.
    public func get(_ customerId: String, asOf: Timestamp? = nil) throws -> CustomerFile {
        let history = try asOf.map { try events.events(of: customerId, asOf: $0) } ?? events.events(of: customerId)
        let file = CustomerFile.fold(history, key: try key(customerId))
        guard file.exists else {
            throw WireError(
                .notFound,
                asOf == nil ? "no customer \(customerId)" : "no customer \(customerId) as of \(asOf!.rfc3339)",
                path: "/customerId")
        }
        return file
    }

    /// Every change to the customer's fields and agent: who, when, old and new (decrypted), oldest first.
    public func history(_ customerId: String, field: String? = nil) throws -> [JSON] {
        let all = try events.events(of: customerId)
        guard all.contains(where: { if case .customerRegistered = $0.event { return true } else { return false } })
        else {
            throw WireError(.notFound, "no customer \(customerId)", path: "/customerId")
        }
        let key = try key(customerId)
        var file = CustomerFile(key: key)
        var changes: [JSON] = []
        for event in all {
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
                    "position": .int(Int64(recorded.position)), "at": .string(recorded.recordedAt.rfc3339),
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
