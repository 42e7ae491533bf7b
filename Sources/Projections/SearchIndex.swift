import CRMEvents
import Crypto
import EventStore
import Foundation
import JSONKit
import KeyValue

/// Search tokens for personal data: keyed hashes (HMAC-SHA256 under a search key kept in
/// `DIR/keys`), never the text itself, so the projections file holds no readable phone, email,
/// name or note. A forgotten customer's tokens are deleted; any left in LMDB's free pages are
/// hashes of low-entropy values only the holder of the search key could test guesses against.
struct SearchIndex: Sendable {
    let key: [UInt8]
    private let hmac: PrecomputedHMAC

    /// HMAC-SHA256 (RFC 2104) with its inner and outer pads hashed once, copied for every token.
    ///
    /// Written out over `SHA256` because tokens are made for every word of every note the
    /// projector folds: `HMAC<SHA256>` went through `DataProtocol` for each update and copied
    /// its key state, which was half the cost of indexing a note.
    final class PrecomputedHMAC: @unchecked Sendable {
        // @unchecked: both states are created in init and only copied (values) afterwards.
        let inner: SHA256
        let outer: SHA256

        init(_ key: [UInt8]) {
            var block = key.count > 64 ? Array(SHA256.hash(data: key)) : key
            block += [UInt8](repeating: 0, count: 64 - block.count)
            var inner = SHA256()
            var outer = SHA256()
            block.map { $0 ^ 0x36 }.withUnsafeBytes { inner.update(bufferPointer: $0) }
            block.map { $0 ^ 0x5C }.withUnsafeBytes { outer.update(bufferPointer: $0) }
            self.inner = inner
            self.outer = outer
        }

        /// The first 16 bytes of HMAC-SHA256(key, `message`).
        func mac16(_ message: UnsafeRawBufferPointer) -> [UInt8] {
            var inner = self.inner
            inner.update(bufferPointer: message)
            var outer = self.outer
            inner.finalize().withUnsafeBytes { outer.update(bufferPointer: $0) }
            return outer.finalize().withUnsafeBytes { Array($0.prefix(16)) }
        }
    }

    /// The index under the search key kept in `keys` (made on first use).
    static func open(keys: KeyStore) throws -> SearchIndex {
        let owner = "search-index"
        return SearchIndex(key: try keys.keyCreatingIfNeeded(for: owner) { DataKey.generate(owner: owner).bytes })
    }

    init(key: [UInt8]) {
        self.key = key
        self.hmac = PrecomputedHMAC(key)
    }

    /// The fields a token belongs to; a field's tokens are replaced when the field changes.
    enum Field: String, CaseIterable {
        case name, phones, emails, text

        /// The byte after the token in the forward key: the same word in a name and in a note
        /// are two entries, so replacing one field's tokens leaves the other's.
        var tag: UInt8 {
            switch self {
            case .name: 0
            case .phones: 1
            case .emails: 2
            case .text: 3
            }
        }
    }

    static let forward = "search"
    static let reverse = "search-by-customer"

    /// The token of one normalised value.
    func token(_ field: Field, bytes value: [UInt8]) -> [UInt8] {
        var message = Array((field == .phones ? "phone" : field == .emails ? "email" : "word").utf8)
        message.append(0)
        message += value
        return message.withUnsafeBytes { hmac.mac16($0) }
    }

    /// The phone number as compared: its last ten digits (the national number; +98 912… and
    /// 0912… match), or all of them when shorter.
    static func phone(_ text: String) -> String {
        String(SearchText.phoneDigits(text).suffix(10))
    }

    /// The distinct normalised values of a field's text, as UTF-8 bytes in first-seen order.
    ///
    /// Bytes rather than strings: a note's words are split and told apart without grapheme
    /// breaking or Unicode-normalised hashing, which cost more than the HMACs of its tokens.
    /// A token is a hash of these bytes, so two values are the same token exactly when their
    /// bytes are equal.
    static func valueBytes(_ field: Field, _ texts: [String]) -> [[UInt8]] {
        var seen = Set<[UInt8]>()
        var values: [[UInt8]] = []
        func add(_ value: [UInt8]) {
            if seen.insert(value).inserted { values.append(value) }
        }
        switch field {
        case .phones:
            for text in texts { let digits = phone(text); if digits.utf8.count >= 3 { add(Array(digits.utf8)) } }
        case .emails:
            for text in texts { add(Array(text.lowercased().trimmingCharacters(in: .whitespaces).utf8)) }
        case .name, .text:
            for text in texts {
                for word in SearchText.normalize(text).utf8.split(separator: UInt8(ascii: " ")) where !word.isEmpty {
                    add(Array(word))
                }
            }
        }
        return values
    }

    /// The tokens of a field's texts: what `index` stores, computed without the index.
    func tokens(_ field: Field, _ texts: [String]) -> [[UInt8]] {
        SearchIndex.valueBytes(field, texts).map { token(field, bytes: $0) }
    }

    /// Replaces (or, for `text`, adds to) the customer's tokens of `field` with `tokens(field, texts)`.
    func index(_ customerId: String, _ field: Field, tokens: [[UInt8]], _ txn: KeyValueTransaction) throws {
        let prefix = Key.of(.text(customerId), .text(field.rawValue))
        if field != .text {
            var keys: [[UInt8]] = []
            try txn.scan(SearchIndex.reverse, prefix: prefix) { key, _ in
                keys.append(key); return true
            }
            for key in keys { try remove(key, field, customerId, prefix.count, txn) }
        }
        // Two entries per word of every note: the keys are built in place, in two buffers, and
        // the tables looked up once.
        let forward = try txn.table(named: SearchIndex.forward), reverse = try txn.table(named: SearchIndex.reverse)
        let id = Array(customerId.utf8)
        var forwardKey: [UInt8] = [], reverseKey: [UInt8] = []
        reverseKey.reserveCapacity(prefix.count + 32)
        for token in tokens {
            SearchIndex.forwardKey(token, field, id, into: &forwardKey)
            reverseKey.removeAll(keepingCapacity: true)
            reverseKey += prefix
            reverseKey += token
            try txn.put(forward, forwardKey, [])
            try txn.put(reverse, reverseKey, [])
        }
    }

    private func remove(
        _ reverseKey: [UInt8], _ field: Field, _ customerId: String, _ prefixLength: Int, _ txn: KeyValueTransaction
    ) throws {
        var forwardKey: [UInt8] = []
        SearchIndex.forwardKey(reverseKey[prefixLength...], field, Array(customerId.utf8), into: &forwardKey)
        try txn.delete(SearchIndex.forward, forwardKey)
        try txn.delete(SearchIndex.reverse, reverseKey)
    }

    /// Writes into `key` (emptied first) a forward entry's key: the token, the field's tag,
    /// then the customer id, so a token's customers are one prefix scan.
    private static func forwardKey(
        _ token: some Collection<UInt8>, _ field: Field, _ customerId: [UInt8], into key: inout [UInt8]
    ) {
        key.removeAll(keepingCapacity: true)
        key.reserveCapacity(token.count + 1 + customerId.count)
        key += token
        key.append(field.tag)
        key += customerId
    }

    /// Deletes every token of a customer (when they are forgotten).
    func forget(_ customerId: String, _ txn: KeyValueTransaction) throws {
        for field in Field.allCases {
            let prefix = Key.of(.text(customerId), .text(field.rawValue))
            var keys: [[UInt8]] = []
            try txn.scan(SearchIndex.reverse, prefix: prefix) { key, _ in
                keys.append(key); return true
            }
            for key in keys { try remove(key, field, customerId, prefix.count, txn) }
        }
    }

    /// Customers having every normalised value of `query` in `field` (for words: in any field of words).
    func customers(_ field: Field, matching query: String, _ txn: KeyValueTransaction) throws -> Set<String> {
        var result: Set<String>?
        for value in SearchIndex.valueBytes(field, [query]) {
            var found = Set<String>()
            let token = token(field, bytes: value)
            try txn.scan(SearchIndex.forward, prefix: token) { key, _ in
                found.insert(String(decoding: key[17...], as: UTF8.self))
                return true
            }
            result = result.map { $0.intersection(found) } ?? found
        }
        return result ?? []
    }
}
