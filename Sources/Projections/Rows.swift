import CRMEvents
import EventStore
import JSONKit
import KeyValue

/// Typed rows over `KeyValueTransaction`, the vocabulary of the CRM read models: each row is
/// stored as the JSON of its Codable type.
extension KeyValueTransaction {
    /// The row under `key`, decoded; nil when absent.
    func row<Row>(_ table: Table<Row>, _ key: [UInt8]) throws -> Row? {
        try get(table.name, key).map { try JSON.parse($0).decode(Row.self) }
    }

    /// Stores `row` under `key`.
    func put<Row>(_ table: Table<Row>, _ key: [UInt8], _ row: Row) throws {
        try put(table.name, key, try JSON.encode(row).bytes())
    }

    /// Stores a row whose JSON is written by hand (see HandWrittenRow).
    func put<Row: HandWrittenRow>(_ table: Table<Row>, _ key: [UInt8], _ row: Row) throws {
        try put(table.name, key, row.json.bytes())
    }

    /// Changes the row under `key` in place, if there is one.
    func update<Row>(_ table: Table<Row>, _ key: [UInt8], _ change: (inout Row) throws -> Void) throws {
        guard var row = try row(table, key) else { return }
        try change(&row)
        try put(table, key, row)
    }

    /// Changes a row whose JSON is written by hand in place, if there is one.
    func update<Row: HandWrittenRow>(_ table: Table<Row>, _ key: [UInt8], _ change: (inout Row) throws -> Void) throws {
        guard var row = try row(table, key) else { return }
        try change(&row)
        try put(table, key, row)
    }

    /// Every row whose key starts with `prefix` (from `start`, while `more` holds), with its key, in key order.
    func rows<Row>(
        _ table: Table<Row>, prefix: [UInt8] = [], from start: [UInt8]? = nil,
        while more: ([UInt8]) -> Bool = { _ in true }
    ) throws -> [(key: [UInt8], row: Row)] {
        var out: [(key: [UInt8], row: Row)] = []
        try scan(table.name, prefix: prefix, from: start) { key, value in
            guard more(key) else { return false }
            out.append((key, try JSON.parse(value).decode(Row.self)))
            return true
        }
        return out
    }
}

/// Builders of ordered keys: text parts are NUL-terminated, numbers big-endian, so keys sort as
/// their parts do.
enum Key {
    /// `parts` joined into one key, written into one buffer (folds build several keys per event).
    static func of(_ parts: KeyPart...) -> [UInt8] {
        var key: [UInt8] = []
        key.reserveCapacity(parts.reduce(0) { $0 + $1.count })
        for part in parts { part.append(to: &key) }
        return key
    }
}

/// One part of an ordered key.
enum KeyPart {
    case text(String)
    case time(Int64)
    case number(UInt64)

    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        append(to: &bytes)
        return bytes
    }

    /// The part's length in bytes.
    var count: Int {
        switch self {
        case .text(let text): text.utf8.count + 1
        case .time, .number: 8
        }
    }

    /// Appends the part's bytes to `key`.
    func append(to key: inout [UInt8]) {
        switch self {
        case .text(let text):
            key.append(contentsOf: text.utf8)
            key.append(0)
        // Flipping the sign bit makes negative times (before 1970) sort before positive ones.
        case .time(let micros):
            withUnsafeBytes(of: (UInt64(bitPattern: micros) ^ (1 << 63)).bigEndian) { key.append(contentsOf: $0) }
        case .number(let value): withUnsafeBytes(of: value.bigEndian) { key.append(contentsOf: $0) }
        }
    }

    /// Reads a time part at `offset` of `key`.
    static func time(in key: [UInt8], at offset: Int) -> Int64 {
        let raw = key[offset..<(offset + 8)].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int64(bitPattern: raw ^ (1 << 63))
    }
}
