import Crypto
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

/// A customer's 256-bit data key, bound to the customer it belongs to.
public struct DataKey: Sendable {
    /// Whose personal data the key protects; bound into every ciphertext as associated data.
    public let owner: String
    /// The key's 32 bytes, for the key store only.
    public let bytes: [UInt8]
    private var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// The key-store name of a customer's data key.
    public static func owner(ofCustomer customerId: String) -> String { "customer-\(customerId)" }

    /// A fresh random key for `owner`.
    public static func generate(owner: String) -> DataKey {
        DataKey(owner: owner, bytes: SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) })
    }

    /// A key restored from its 32 stored bytes.
    public init(owner: String, bytes: [UInt8]) {
        self.owner = owner
        self.bytes = bytes
    }

    /// Encrypts `text` with a fresh nonce.
    public func seal(_ text: String) -> Sealed {
        // AES-GCM with a random 96-bit nonce cannot fail for inputs this small.
        let box = try! AES.GCM.seal(Data(text.utf8), using: key, authenticating: Data(owner.utf8))
        return Sealed(text: "v1." + box.combined!.base64EncodedString())
    }

    /// Decrypts a value sealed with this key; nil when it was sealed with another key or altered.
    public func open(_ sealed: Sealed) -> String? {
        guard sealed.text.hasPrefix("v1."), let combined = Data(base64Encoded: String(sealed.text.dropFirst(3))),
              let box = try? AES.GCM.SealedBox(combined: combined),
              let plain = try? AES.GCM.open(box, using: key, authenticating: Data(owner.utf8))
        else { return nil }
        return String(decoding: plain, as: UTF8.self)
    }
}
