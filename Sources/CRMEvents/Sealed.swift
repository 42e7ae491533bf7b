import Crypto
import EventStore
import Foundation

/// Personal data as stored in the log: AES-GCM ciphertext under one customer's data key.
///
/// The hash chain covers these bytes, so destroying the key (crypto-shredding) erases the
/// plaintext everywhere while the log stays append-only and verifiable.
public struct Sealed: Codable, Hashable, Sendable {
    /// `v1.` followed by base64 of nonce (12 bytes), ciphertext and tag (16 bytes).
    public let text: String

    /// Wraps stored ciphertext text.
    public init(text: String) { self.text = text }

    public init(from decoder: Decoder) throws { text = try decoder.singleValueContainer().decode(String.self) }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(text)
    }
}

/// Where randomness for keys and nonces comes from: the system's generator, or a seeded one so
/// that a demo history can be written again byte for byte (never for real data).
public final class Entropy: Sendable {
    private let seeded: Locked<SplitMix?>

    /// The system's cryptographic generator.
    public static let system = Entropy(seed: nil)

    /// A reproducible stream from `seed` (SplitMix64); not secret, for demos and tests only.
    public init(seed: UInt64?) { seeded = Locked(seed.map(SplitMix.init(seed:))) }

    /// `count` bytes of the seeded stream, or nil when the system's generator is to be used.
    public func bytesIfSeeded(_ count: Int) -> [UInt8]? { bytes(count) }

    /// `count` random bytes, or nil to let the system choose.
    func bytes(_ count: Int) -> [UInt8]? {
        seeded.withLock { (generator: inout SplitMix?) -> [UInt8]? in
            guard generator != nil else { return nil }
            var out: [UInt8] = []
            while out.count < count { out += withUnsafeBytes(of: generator!.next()) { Array($0) } }
            return Array(out.prefix(count))
        }
    }
}

/// A customer's 256-bit data key, bound to the customer it belongs to.
public struct DataKey: Sendable {
    /// Whose personal data the key protects; bound into every ciphertext as associated data.
    public let owner: String
    /// The key's 32 bytes, for the key store only.
    public let bytes: [UInt8]
    /// Where nonces come from (the system, unless a demo asked for a seeded stream).
    public var entropy: Entropy = .system
    /// Made once: a key is used for every sealed field of every event the projector folds.
    // nonisolated(unsafe): SymmetricKey is an immutable value that Crypto has not marked Sendable.
    nonisolated(unsafe) private let key: SymmetricKey
    /// The owner as associated data, made once for the same reason.
    private let associatedData: Data

    /// The key-store name of a customer's data key.
    public static func owner(ofCustomer customerId: String) -> String { "customer-\(customerId)" }

    /// A fresh random key for `owner`.
    public static func generate(owner: String, entropy: Entropy = .system) -> DataKey {
        DataKey(owner: owner, bytes: entropy.bytes(32) ?? SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// A key restored from its 32 stored bytes.
    public init(owner: String, bytes: [UInt8]) {
        self.owner = owner
        self.bytes = bytes
        key = SymmetricKey(data: bytes)
        associatedData = Data(owner.utf8)
    }

    /// Encrypts `text` with a fresh nonce.
    public func seal(_ text: String) -> Sealed {
        // AES-GCM with a random 96-bit nonce cannot fail for inputs this small.
        let nonce = entropy.bytes(12).map { try! AES.GCM.Nonce(data: $0) } ?? AES.GCM.Nonce()
        let box = try! AES.GCM.seal(Data(text.utf8), using: key, nonce: nonce, authenticating: associatedData)
        return Sealed(text: "v1." + box.combined!.base64EncodedString())
    }

    /// Decrypts a value sealed with this key; nil when it was sealed with another key or altered.
    public func open(_ sealed: Sealed) -> String? {
        guard sealed.text.hasPrefix("v1."), let combined = Data(base64Encoded: String(sealed.text.dropFirst(3))),
            let box = try? AES.GCM.SealedBox(combined: combined),
            let plain = try? AES.GCM.open(box, using: key, authenticating: associatedData)
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
