import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

/// Customers, interactions and invoices as sheets people open in Excel (with the headers the
/// importer reads, so an export re-imports cleanly) or as JSON lines; and the subject-access
/// package of one customer.
///
/// It folds every customer's file from the log itself (read-only, safe beside a serving
/// daemon), opening personal data with the customers' keys; forgotten customers have none
/// and are left out.
public struct Exporter {
    /// Each customer's id and file, in the order they were registered.
    public let files: [(id: String, file: CustomerFile)]
    /// Every event about each customer, in log order.
    let events: [String: [ProjectedEvent]]
    let keys: KeyStore

    /// Reads the whole log of `store` and opens personal data with `keys`.
    public init(store: EventStore, keys: KeyStore) throws {
        var byCustomer: [String: [ProjectedEvent]] = [:]
        var order: [String] = []
        try store.scan(from: 1) { recorded in
            let event = try ProjectedEvent(recorded)
            if let customerId = event.event?.customerId {
                if byCustomer[customerId] == nil { order.append(customerId) }
                byCustomer[customerId, default: []].append(event)
            }
            return true
        }
        var files: [(id: String, file: CustomerFile)] = []
        for customerId in order {
            let owner = DataKey.owner(ofCustomer: customerId)
            let key = try keys.key(for: owner).map { DataKey(owner: owner, bytes: $0) }
            let file = CustomerFile.fold(byCustomer[customerId] ?? [], key: key)
            if file.exists { files.append((customerId, file)) }
        }
        self.files = files
        self.events = byCustomer
        self.keys = keys
    }

    /// The files of customers whose personal data still exists, as JSON (built once per export).
    var living: [JSON] { files.map(\.file.json).filter { $0["erased"] != true } }

    /// The header and rows of `kind`, headers in Persian or English.
    public func sheet(_ kind: ImportKind, persian: Bool) -> [[String]] {
        let header = kind.fields.map { persian ? $0.persian : $0.rawValue }
        var rows = [header]
        for file in living {
            switch kind {
            case .customers: rows.append(kind.fields.map { Exporter.customerCell($0, file) })
            case .interactions:
                for interaction in file["interactions"]?.arrayValue ?? [] {
                    rows.append(kind.fields.map { Exporter.interactionCell($0, interaction, file) })
                }
            case .invoices:
                for invoice in file["invoices"]?.arrayValue ?? [] where invoice["void"] != true {
                    for (index, line) in (invoice["lines"]?.arrayValue ?? []).enumerated() {
                        rows.append(kind.fields.map { Exporter.invoiceCell($0, invoice, line, first: index == 0, file) })
                    }
                }
            }
        }
        return rows
    }

    /// The records of `kind` as JSON objects, one per line of a JSON-lines export.
    public func records(_ kind: ImportKind) -> [JSON] {
        switch kind {
        case .customers:
            return living.map { file in
                guard case .object(var members) = file else { return file }
                members["timeline"] = nil
                members["asOfPosition"] = nil
                return .object(members)
            }
        case .interactions, .invoices:
            let key = kind == .interactions ? "interactions" : "invoices"
            return living.flatMap { file in
                (file[key]?.arrayValue ?? []).map { record -> JSON in
                    guard case .object(var members) = record else { return record }
                    members["customerId"] = file["customerId"]
                    return .object(members)
                }
            }
        }
    }

    static func text(_ value: JSON?) -> String {
        switch value {
        case .string(let text)?: text
        case .int(let number)?: String(number)
        case .bool(let flag)?: flag ? "true" : "false"
        case .array(let items)?: items.map { text($0) }.joined(separator: "; ")
        default: ""
        }
    }

    static func customerCell(_ field: Field, _ file: JSON) -> String {
        switch field {
        case .id: text(file["customerId"])
        case .name: text(file["name"])
        case .kind: text(file["kind"])
        case .phone: text(file["phones"])
        case .email: text(file["emails"])
        case .agent: text(file["agentId"])
        case .source: text(file["source"]?["channel"])
        case .campaign: text(file["source"]?["campaign"])
        case .tags: (file["tags"]?.arrayValue ?? []).map { text($0) }.joined(separator: "، ")
        case .registered: text(file["registeredAt"])
        case .address: text(file["address"])
        case .birthday: text(file["birthday"])
        case .branch: text(file["branchId"])
        default: ""
        }
    }

    static func interactionCell(_ field: Field, _ interaction: JSON, _ file: JSON) -> String {
        switch field {
        case .customer: text(file["customerId"])
        case .type: text(interaction["kind"])
        case .date: text(interaction["at"])
        case .agent: text(interaction["agentId"])
        case .direction: text(interaction["direction"])
        case .outcome: text(interaction["outcome"])
        case .subject: text(interaction["subject"])
        case .text: text(interaction["text"])
        case .duration: text(interaction["durationSeconds"])
        default: ""
        }
    }

    static func invoiceCell(_ field: Field, _ invoice: JSON, _ line: JSON, first: Bool, _ file: JSON) -> String {
        switch field {
        case .invoice: text(invoice["invoiceId"])
        case .customer: text(file["customerId"])
        case .date: text(invoice["issuedAt"])
        case .agent: text(invoice["agentId"])
        case .product: text(line["productId"])
        case .quantity: text(line["quantity"])
        case .unitPrice: text(line["unitPrice"]?["amount"])
        case .paid: first && invoice["paid"] != .int(0) ? text(invoice["paid"]) : ""
        case .due: text(invoice["dueAt"])
        default: ""
        }
    }

    /// Everything crmd holds about one customer, for a data-protection request: the file, and
    /// every event about them with its personal data opened and who recorded it.
    public func subjectAccess(_ customerId: String, generatedAt: Timestamp) throws(ImportError) -> JSON {
        guard let events = events[customerId], let file = files.first(where: { $0.id == customerId })?.file.json
        else { throw ImportError("no customer \(customerId)") }
        let owner = DataKey.owner(ofCustomer: customerId)
        guard file["forgotten"] != true, let bytes = try? keys.key(for: owner) else {
            throw ImportError(
                "customer \(customerId) was forgotten (customer.forget): their personal data was erased and no "
                    + "longer exists anywhere, so there is nothing to give them")
        }
        let key = DataKey(owner: owner, bytes: bytes)
        var entries: [JSON] = []
        for event in events {
            let recorded = event.recorded
            var entry: JSONObject = [
                "position": .int(Int64(recorded.position)), "stream": .string(recorded.stream.rawValue),
                "type": .string(recorded.type), "recordedAt": .string(recorded.recordedAt.rfc3339),
                "at": .string(event.at.rfc3339), "recordedBy": .string(recorded.actor.principal),
            ]
            if let uid = recorded.actor.uid { entry["uid"] = .int(Int64(uid)) }
            if let requestId = recorded.requestId { entry["requestId"] = .string(requestId) }
            entry["data"] = Exporter.opened((try? JSON.parse(recorded.data)) ?? .null, key)
            entries.append(.object(entry))
        }
        var fileJSON = file
        if case .object(var members) = fileJSON {
            members["timeline"] = nil
            fileJSON = .object(members)
        }
        return .object([
            "subject": .string(customerId), "generatedAt": .string(generatedAt.rfc3339),
            "about": .string(
                "Everything this CRM holds about the customer: their file as it stands, and every recorded event about them with personal data opened, when it happened (at), when it was recorded (recordedAt) and by whom."
            ),
            "file": fileJSON, "events": .array(entries),
        ])
    }

    /// `value` with every sealed string opened with `key`.
    static func opened(_ value: JSON, _ key: DataKey) -> JSON {
        switch value {
        case .string(let text) where Pattern.sealed.matches(text):
            return key.open(Sealed(text: text)).map(JSON.string) ?? value
        case .array(let items): return .array(items.map { opened($0, key) })
        case .object(let object):
            var members = JSONObject()
            for member in object.members { members[member.key] = opened(member.value, key) }
            return .object(members)
        default: return value
        }
    }
}
