import EventStore
import Foundation

/// A client-chosen identifier (customer, agent, invoice, …): 1–64 of `A-Za-z0-9._-` (docs/protocol.md).
public struct EntityID: Hashable, Sendable, CustomStringConvertible {
    /// The identifier's text.
    public let rawValue: String

    /// Why a proposed identifier was refused.
    public enum Problem: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case tooLong(length: Int)
        case invalidCharacter(Character, offset: Int)

        public var description: String {
            switch self {
            case .empty: return "an id must not be empty"
            case .tooLong(let length): return "an id has at most 64 characters, this one has \(length)"
            case .invalidCharacter(let character, let offset):
                return "an id may hold only A-Z, a-z, 0-9, '.', '_' and '-'; found '\(character)' at offset \(offset)"
            }
        }
    }

    /// Validates `text` as an identifier.
    public init(_ text: String) throws(Problem) {
        guard !text.isEmpty else { throw .empty }
        let count = text.unicodeScalars.count
        guard count <= 64 else { throw .tooLong(length: count) }
        for (offset, scalar) in text.unicodeScalars.enumerated() {
            switch scalar {
            case "A"..."Z", "a"..."z", "0"..."9", ".", "_", "-": continue
            default: throw .invalidCharacter(Character(scalar), offset: offset)
            }
        }
        rawValue = text
    }

    /// A new random identifier with a readable prefix, for when the client sends none.
    public static func generate(prefix: String) -> EntityID {
        // 80 bits from the kernel's generator (getrandom); Foundation's UUID() opened
        // /dev/urandom on every call, which showed in the daemon's profile under load.
        var generator = SystemRandomNumberGenerator()
        // Two draws (each a getrandom call), not one per byte.
        let random = withUnsafeBytes(of: (generator.next(), generator.next())) { Array($0.prefix(10)) }
        return EntityID(unchecked: prefix + "-" + random.lowercaseHex)  // prefix is one of ours, ASCII and short
    }

    /// An identifier the caller has built from checked parts.
    init(unchecked text: String) { rawValue = text }

    public var description: String { rawValue }
}

/// The kinds of aggregate the CRM writes, and the log stream each instance lives in.
public enum AggregateKind: String, CaseIterable, Sendable {
    case customer, activity, deal, invoice, proforma, quote, followup, product, agent, branch, pipeline, target

    /// The stream of one instance, e.g. `customer-c42`.
    public func stream(_ id: EntityID) -> StreamName { StreamName(rawValue: "\(rawValue)-\(id.rawValue)") }

    /// Splits a stream name back into kind and id; nil for streams that are not aggregates.
    public static func parse(stream name: StreamName) -> (AggregateKind, EntityID)? {
        let stream = name.rawValue
        guard let dash = stream.firstIndex(of: "-"),
            let kind = AggregateKind(rawValue: String(stream[..<dash])),
            let id = try? EntityID(String(stream[stream.index(after: dash)...]))
        else { return nil }
        return (kind, id)
    }
}
