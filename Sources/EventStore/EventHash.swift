import Crypto

/// A SHA-256 digest that links an event to everything recorded before it.
///
/// Kept as four words rather than an array so that decoding an event allocates nothing for it.
public struct EventHash: Hashable, Sendable, CustomStringConvertible {
    private let w0, w1, w2, w3: UInt64

    /// The hash before the first event: 32 zero bytes.
    public static let genesis = EventHash(w0: 0, w1: 0, w2: 0, w3: 0)

    private init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        (self.w0, self.w1, self.w2, self.w3) = (w0, w1, w2, w3)
    }

    /// Wraps 32 bytes; returns nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self = bytes.withUnsafeBytes { EventHash(loading: $0, at: 0) }
    }

    /// Reads 32 bytes at `offset` of `buffer`.
    init(loading buffer: UnsafeRawBufferPointer, at offset: Int) {
        func word(_ i: Int) -> UInt64 {
            UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: offset + 8 * i, as: UInt64.self))
        }
        self.init(w0: word(0), w1: word(1), w2: word(2), w3: word(3))
    }

    /// The 32 digest bytes, in order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(32)
        append(to: &out)
        return out
    }

    /// Appends the 32 digest bytes to `buffer`.
    func append(to buffer: inout [UInt8]) {
        withUnsafeBytes(of: (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian)) { buffer.append(contentsOf: $0) }
    }

    /// Parses 64 hex digits.
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        for i in stride(from: 0, to: 64, by: 2) {
            guard let high = EventHash.nibble(digits[i]), let low = EventHash.nibble(digits[i + 1]) else { return nil }
            out.append(high << 4 | low)
        }
        self = out.withUnsafeBytes { EventHash(loading: $0, at: 0) }
    }

    /// Lower-case hex, as printed by `crmd verify` and in JSON envelopes.
    public var hex: String { bytes.lowercaseHex }

    public var description: String { hex }

    /// SHA-256 of `body`.
    static func of(_ body: UnsafeRawBufferPointer) -> EventHash {
        var hasher = SHA256()
        hasher.update(bufferPointer: body)
        return hasher.finalize().withUnsafeBytes { EventHash(loading: $0, at: 0) }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 48...57: return c - 48
        case 97...102: return c - 87
        case 65...70: return c - 55
        default: return nil
        }
    }
}

extension Sequence<UInt8> {
    /// Lower-case hexadecimal digits, two per byte (hashes, generated ids).
    public var lowercaseHex: String {
        withContiguousStorageIfAvailable(hexDigits) ?? Array(self).withUnsafeBufferPointer(hexDigits)
    }
}

/// Writes the digits straight into the string's storage: every generated id and every hash
/// shown goes through here, and the array-then-validate route showed in the write side's profile.
private func hexDigits(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
    String(unsafeUninitializedCapacity: bytes.count * 2) { out in
        let digits: StaticString = "0123456789abcdef"
        digits.withUTF8Buffer { table in
            for (index, byte) in bytes.enumerated() {
                out[2 * index] = table[Int(byte >> 4)]
                out[2 * index + 1] = table[Int(byte & 0x0F)]
            }
        }
        return bytes.count * 2
    }
}
