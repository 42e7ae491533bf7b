/// Codable straight to and from `JSON` values, without a trip through bytes and Foundation.
///
/// Commands arrive already parsed (the daemon parses every request line), and payloads are read
/// by `JSON.parse`; decoding them with `JSONDecoder` meant serialising the value again and
/// parsing it a second time. Encoding builds a `JSON` value that `bytes(sortedKeys:)` writes.
extension JSON {
    /// Decodes `type` from this value, as `JSONDecoder` would from its text.
    public func decode<T: Decodable>(_ type: T.Type) throws -> T {
        try T(from: TreeDecoder(value: self))
    }

    /// The value `JSONEncoder` would write for `value`, as a `JSON` value.
    public static func encode<T: Encodable>(_ value: T) throws -> JSON {
        let root = TreeEncoder.Slot()
        try value.encode(to: TreeEncoder(slot: root))
        return root.finished
    }
}

/// A coding key made from a name or a position, for the paths of errors and nested containers.
private struct TreeKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init(intValue: Int) {
        stringValue = "\(intValue)"
        self.intValue = intValue
    }
}

/// Where a value sits: the path of its container and its key there. The path itself, an
/// array of existentials, is made only when an error names it (every command's arguments and
/// events, and every event the projector folds, go through the coders below).
private struct Place {
    let parentPath: [any CodingKey]
    let key: (any CodingKey)?
    var path: [any CodingKey] { key.map { parentPath + [$0] } ?? parentPath }
}

// MARK: - Decoding

private struct TreeDecoder: Decoder, SingleValueDecodingContainer {
    let value: JSON
    let place: Place
    var codingPath: [any CodingKey] { place.path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(value: JSON, parentPath: [any CodingKey] = [], key: (any CodingKey)? = nil) {
        self.value = value
        place = Place(parentPath: parentPath, key: key)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else { throw mismatch([String: JSON].self, value, codingPath) }
        return KeyedDecodingContainer(KeyedTreeDecoder<Key>(object: object, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else { throw mismatch([JSON].self, value, codingPath) }
        return UnkeyedTreeDecoder(elements: elements, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    func decodeNil() -> Bool { value == .null }
    func decode(_ type: Bool.Type) throws -> Bool { try boolean(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try string(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try double(value, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { Float(try double(value, codingPath)) }
    func decode(_ type: Int.Type) throws -> Int { try integer(value, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try integer(value, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try integer(value, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try integer(value, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try integer(value, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try integer(value, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try integer(value, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try integer(value, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try integer(value, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try integer(value, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try T(from: self) }
}

private struct KeyedTreeDecoder<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let object: JSONObject
    let codingPath: [any CodingKey]
    /// Positions of members by name, for large objects only: a payload's dozen members are
    /// found faster by looking along them, but a hostile object of many thousands must not
    /// cost a look along all of them per member.
    private let index: [String: Int]?

    init(object: JSONObject, codingPath: [any CodingKey]) {
        self.object = object
        self.codingPath = codingPath
        index =
            object.members.count > 32
            ? Dictionary(object.members.enumerated().map { ($1.key, $0) }, uniquingKeysWith: { first, _ in first })
            : nil
    }

    var allKeys: [Key] { object.members.compactMap { Key(stringValue: $0.key) } }

    private func member(_ name: String) -> JSON? {
        guard let index else { return object[name] }
        return index[name].map { object.members[$0].value }
    }

    func contains(_ key: Key) -> Bool { member(key.stringValue) != nil }

    private func value(_ key: Key) throws -> JSON {
        guard let value = member(key.stringValue) else {
            throw DecodingError.keyNotFound(
                key, .init(codingPath: codingPath, debugDescription: "no member \"\(key.stringValue)\""))
        }
        return value
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key) == .null }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try boolean(value(key), path(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try string(value(key), path(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try double(value(key), path(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try double(value(key), path(key))) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(value(key), path(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(value(key), path(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(value(key), path(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(value(key), path(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(value(key), path(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(value(key), path(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(value(key), path(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(value(key), path(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(value(key), path(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(value(key), path(key)) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try T(from: TreeDecoder(value: value(key), parentPath: codingPath, key: key))
    }

    // Optional members: absent and null both mean nil, as with JSONDecoder.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let value = member(key.stringValue), value != .null else { return nil }
        return try string(value, path(key))
    }

    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let value = member(key.stringValue), value != .null else { return nil }
        return try integer(value, path(key))
    }

    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let value = member(key.stringValue), value != .null else { return nil }
        return try T(from: TreeDecoder(value: value, parentPath: codingPath, key: key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try TreeDecoder(value: value(key), parentPath: codingPath, key: key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TreeDecoder(value: value(key), parentPath: codingPath, key: key).unkeyedContainer()
    }

    func superDecoder() throws -> any Decoder { TreeDecoder(value: .object(object), parentPath: codingPath) }

    func superDecoder(forKey key: Key) throws -> any Decoder {
        TreeDecoder(value: member(key.stringValue) ?? .null, parentPath: codingPath, key: key)
    }
}

private struct UnkeyedTreeDecoder: UnkeyedDecodingContainer {
    let elements: [JSON]
    let codingPath: [any CodingKey]
    var currentIndex = 0

    init(elements: [JSON], codingPath: [any CodingKey]) {
        self.elements = elements
        self.codingPath = codingPath
    }

    var count: Int? { elements.count }
    var isAtEnd: Bool { currentIndex >= elements.count }

    /// The next element and its key (its path is made only if an error needs it).
    private mutating func next() throws -> (JSON, TreeKey) {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(
                JSON.self, .init(codingPath: codingPath, debugDescription: "the array has no element \(currentIndex)"))
        }
        defer { currentIndex += 1 }
        return (elements[currentIndex], TreeKey(intValue: currentIndex))
    }

    private func path(_ key: TreeKey) -> [any CodingKey] { codingPath + [key] }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd, elements[currentIndex] == .null else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { let (v, k) = try next(); return try boolean(v, path(k)) }
    mutating func decode(_ type: String.Type) throws -> String {
        let (v, k) = try next(); return try string(v, path(k))
    }
    mutating func decode(_ type: Double.Type) throws -> Double {
        let (v, k) = try next(); return try double(v, path(k))
    }
    mutating func decode(_ type: Float.Type) throws -> Float {
        let (v, k) = try next(); return Float(try double(v, path(k)))
    }
    mutating func decode(_ type: Int.Type) throws -> Int { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { let (v, k) = try next(); return try integer(v, path(k)) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 {
        let (v, k) = try next(); return try integer(v, path(k))
    }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 {
        let (v, k) = try next(); return try integer(v, path(k))
    }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 {
        let (v, k) = try next(); return try integer(v, path(k))
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let (value, key) = try next()
        return try T(from: TreeDecoder(value: value, parentPath: codingPath, key: key))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) throws -> KeyedDecodingContainer<NestedKey> {
        let (value, key) = try next()
        return try TreeDecoder(value: value, parentPath: codingPath, key: key).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (value, key) = try next()
        return try TreeDecoder(value: value, parentPath: codingPath, key: key).unkeyedContainer()
    }

    mutating func superDecoder() throws -> any Decoder {
        let (value, key) = try next()
        return TreeDecoder(value: value, parentPath: codingPath, key: key)
    }
}

private func mismatch(_ type: Any.Type, _ value: JSON, _ path: [any CodingKey]) -> DecodingError {
    .typeMismatch(type, .init(codingPath: path, debugDescription: "expected \(type), found \(value.typeName)"))
}

private func boolean(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> Bool {
    guard case .bool(let b) = value else { throw mismatch(Bool.self, value, path()) }
    return b
}

private func string(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> String {
    guard case .string(let s) = value else { throw mismatch(String.self, value, path()) }
    return s
}

private func double(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> Double {
    switch value {
    case .double(let d): return d
    case .int(let i): return Double(i)
    default: throw mismatch(Double.self, value, path())
    }
}

/// An integer of type `T`: a JSON integer in range, or a number with no fractional part.
private func integer<T: FixedWidthInteger>(_ value: JSON, _ path: @autoclosure () -> [any CodingKey]) throws -> T {
    let exact: T?
    switch value {
    case .int(let i): exact = T(exactly: i)
    case .double(let d): exact = T(exactly: d)
    default: throw mismatch(T.self, value, path())
    }
    guard let exact else {
        throw DecodingError.dataCorrupted(
            .init(codingPath: path(), debugDescription: "\(value.serialized()) does not fit \(T.self)"))
    }
    return exact
}

// MARK: - Encoding

/// Every command encodes its events through here, so a scalar member is stored as a value, not
/// as a slot of its own.
private struct TreeEncoder: Encoder, SingleValueEncodingContainer {
    /// What a container member or element holds: a finished scalar, or a slot filled later.
    enum Member {
        case value(JSON)
        case slot(Slot)

        var finished: JSON {
            switch self {
            case .value(let value): return value
            case .slot(let slot): return slot.finished
            }
        }
    }

    /// Where an encoded value lands; containers fill theirs in after being handed out, so a
    /// reference is shared between a container and its parent.
    final class Slot {
        var value: JSON = .null
        var elements: [Member]?
        var members: [(String, Member)]?
        /// Positions in `members` by key, made once an object is large enough for it to pay.
        private var memberIndex: [String: Int]?

        /// The finished value: containers' children are read only now, when all are written.
        var finished: JSON {
            if let members {
                var object = JSONObject()
                for (key, member) in members { object.appendUnchecked(key, member.finished) }
                return .object(object)
            }
            if let elements { return .array(elements.map(\.finished)) }
            return value
        }

        /// Sets `key`; encoding a key twice replaces its value, as JSONEncoder does.
        func set(_ key: String, _ member: Member) {
            if let index = index(of: key) {
                members![index].1 = member
            } else {
                memberIndex?[key] = members!.count
                members!.append((key, member))
            }
        }

        private func index(of key: String) -> Int? {
            if let memberIndex { return memberIndex[key] }
            // Payloads have a dozen members or so: a scan beats hashing every key.
            guard members!.count >= 16 else { return members!.firstIndex { $0.0 == key } }
            var index: [String: Int] = [:]
            for (position, member) in members!.enumerated() { index[member.0] = position }
            memberIndex = index
            return index[key]
        }
    }

    let slot: Slot
    let place: Place
    var codingPath: [any CodingKey] { place.path }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    init(slot: Slot, parentPath: [any CodingKey] = [], key: (any CodingKey)? = nil) {
        self.slot = slot
        place = Place(parentPath: parentPath, key: key)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if slot.members == nil { slot.members = [] }
        return KeyedEncodingContainer(KeyedTreeEncoder<Key>(slot: slot, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if slot.elements == nil { slot.elements = [] }
        return UnkeyedTreeEncoder(slot: slot, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() { slot.value = .null }
    func encode(_ value: Bool) { slot.value = .bool(value) }
    func encode(_ value: String) { slot.value = .string(value) }
    func encode(_ value: Double) throws { slot.value = try number(value, codingPath) }
    func encode(_ value: Float) throws { slot.value = try number(Double(value), codingPath) }
    func encode(_ value: Int) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: Int8) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: Int16) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: Int32) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: Int64) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: UInt) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: UInt8) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: UInt16) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: UInt32) throws { slot.value = try integer(value, codingPath) }
    func encode(_ value: UInt64) throws { slot.value = try integer(value, codingPath) }
    func encode<T: Encodable>(_ value: T) throws { try value.encode(to: self) }
}

private struct KeyedTreeEncoder<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: TreeEncoder.Slot
    let codingPath: [any CodingKey]

    private func set(_ key: Key, _ value: JSON) { slot.set(key.stringValue, .value(value)) }

    /// An encoder for a member whose value encodes itself (a nested struct, an array, a sealed value).
    private func child(_ key: Key) -> TreeEncoder {
        let child = TreeEncoder.Slot()
        slot.set(key.stringValue, .slot(child))
        return TreeEncoder(slot: child, parentPath: codingPath, key: key)
    }

    private func path(_ key: Key) -> [any CodingKey] { codingPath + [key] }

    mutating func encodeNil(forKey key: Key) { set(key, .null) }
    mutating func encode(_ value: Bool, forKey key: Key) { set(key, .bool(value)) }
    mutating func encode(_ value: String, forKey key: Key) { set(key, .string(value)) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(key, try number(value, path(key))) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(key, try number(Double(value), path(key))) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(key, try integer(value, path(key))) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws { try value.encode(to: child(key)) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        child(key).container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        child(key).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder { child(Key(stringValue: "super")!) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { child(key) }
}

private struct UnkeyedTreeEncoder: UnkeyedEncodingContainer {
    let slot: TreeEncoder.Slot
    let codingPath: [any CodingKey]
    var count: Int { slot.elements!.count }

    private func append(_ value: JSON) { slot.elements!.append(.value(value)) }

    private func next() -> TreeEncoder {
        let child = TreeEncoder.Slot()
        slot.elements!.append(.slot(child))
        return TreeEncoder(slot: child, parentPath: codingPath, key: TreeKey(intValue: slot.elements!.count - 1))
    }

    /// The path of the element about to be appended.
    private var path: [any CodingKey] { codingPath + [TreeKey(intValue: count)] }

    mutating func encodeNil() { append(.null) }
    mutating func encode(_ value: Bool) { append(.bool(value)) }
    mutating func encode(_ value: String) { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try number(value, path)) }
    mutating func encode(_ value: Float) throws { append(try number(Double(value), path)) }
    mutating func encode(_ value: Int) throws { append(try integer(value, path)) }
    mutating func encode(_ value: Int8) throws { append(try integer(value, path)) }
    mutating func encode(_ value: Int16) throws { append(try integer(value, path)) }
    mutating func encode(_ value: Int32) throws { append(try integer(value, path)) }
    mutating func encode(_ value: Int64) throws { append(try integer(value, path)) }
    mutating func encode(_ value: UInt) throws { append(try integer(value, path)) }
    mutating func encode(_ value: UInt8) throws { append(try integer(value, path)) }
    mutating func encode(_ value: UInt16) throws { append(try integer(value, path)) }
    mutating func encode(_ value: UInt32) throws { append(try integer(value, path)) }
    mutating func encode(_ value: UInt64) throws { append(try integer(value, path)) }
    mutating func encode<T: Encodable>(_ value: T) throws { try value.encode(to: next()) }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type
    ) -> KeyedEncodingContainer<NestedKey> {
        next().container(keyedBy: type)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { next().unkeyedContainer() }
    mutating func superEncoder() -> any Encoder { next() }
}

/// `value` as a JSON number; `path` names it in the error (made only when there is one).
private func number(_ value: Double, _ path: @autoclosure () -> [any CodingKey]) throws -> JSON {
    guard value.isFinite else {
        throw EncodingError.invalidValue(value, .init(codingPath: path(), debugDescription: "JSON has no \(value)"))
    }
    return .double(value)
}

/// `value` as a JSON integer, which holds 64 signed bits; `path` names it in the error.
private func integer<T: FixedWidthInteger>(_ value: T, _ path: @autoclosure () -> [any CodingKey]) throws -> JSON {
    guard let exact = Int64(exactly: value) else {
        throw EncodingError.invalidValue(
            value, .init(codingPath: path(), debugDescription: "\(value) is beyond a 64-bit integer"))
    }
    return .int(exact)
}
