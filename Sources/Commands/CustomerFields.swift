import CRMEvents
import Door
import EventStore
import JSONKit

/// The editable fields of one customer as they stand, decrypted: what `customer.edit` compares
/// new values against and records as the old value.
struct CustomerFields {
    /// `person` or `organisation`.
    var kind = "person"
    /// Plain values by field name; absent fields are empty.
    var fields: [String: JSON] = [:]

    /// Folds the customer's stream; without a key, personal fields stay unread.
    static func load(_ customerId: String, context: DecisionContext, key: DataKey?) throws(WireError) -> CustomerFields
    {
        let events: [RecordedEvent]
        do {
            events = try context.store.readStream(AggregateKind.customer.stream(try! EntityID(customerId)))
        } catch {
            throw WireError(error as? StoreError ?? .closed)
        }
        var file = CustomerFields()
        for recorded in events {
            guard let event = try? EventCatalogue.decode(recorded) else { continue }
            file.apply(event, key: key)
        }
        return file
    }

    private mutating func apply(_ event: CRMEvent, key: DataKey?) {
        func open(_ sealed: Sealed?) -> JSON? { sealed.flatMap { key?.open($0) }.map(JSON.string) }
        switch event {
        case .customerRegistered(let e):
            kind = e.kind
            fields["kind"] = .string(e.kind)
            fields["name"] = open(e.name)
            if let key {
                fields["phones"] = .array(e.phones.compactMap { key.open($0) }.map(JSON.string))
                fields["emails"] = .array(e.emails.compactMap { key.open($0) }.map(JSON.string))
            }
            fields["address"] = open(e.address)
            fields["birthday"] = open(e.birthday)
            if let source = e.source {
                var object: JSONObject = ["channel": .string(source.channel)]
                if let campaign = source.campaign { object["campaign"] = .string(campaign) }
                if let referrer = open(source.referrer) { object["referrer"] = referrer }
                fields["source"] = .object(object)
            }
            fields["branchId"] = e.branchId.map(JSON.string)
            fields["tags"] = .array(e.tags.map(JSON.string))
        case .customerFieldEdited(let e):
            if e.field == "kind", let kind = e.new?.stringValue { self.kind = kind }
            fields[e.field] = e.new.flatMap { CustomerFields.plain(e.field, $0, key: key) }
        default:
            break
        }
    }

    /// The stored form of a field's plain value: personal fields sealed whole, a source's referrer sealed.
    static func stored(_ field: String, _ value: JSON, key: DataKey) -> JSON {
        if CustomerFieldEdited.fields[field] == true { return .string(key.seal(value.serialized()).text) }
        if field == "source", case .object(var source) = value, let referrer = source["referrer"]?.stringValue {
            source["referrer"] = .string(key.seal(referrer).text)
            return .object(source)
        }
        return value
    }

    /// The plain value of a stored field value; nil when it cannot be opened.
    static func plain(_ field: String, _ value: JSON, key: DataKey?) -> JSON? {
        if CustomerFieldEdited.fields[field] == true {
            guard let text = value.stringValue, let plain = key?.open(Sealed(text: text)) else { return nil }
            return try? JSON.parse(plain)
        }
        if field == "source", case .object(var source) = value, let referrer = source["referrer"]?.stringValue {
            source["referrer"] = key?.open(Sealed(text: referrer)).map(JSON.string)
            return .object(source)
        }
        return value
    }

    /// A value as compared for "did it change": empty arrays and absence are the same.
    static func normalized(_ value: JSON?) -> JSON? {
        if case .array(let items)? = value, items.isEmpty { return nil }
        return value
    }
}
