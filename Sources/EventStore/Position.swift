/// A number that counts events along the log or along one stream: positions and stream versions
/// share their arithmetic, but are never mixed up with each other or with a plain count.
public protocol EventOrdinal: RawRepresentable, Hashable, Strideable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
where RawValue == UInt64, Stride == Int64, IntegerLiteralType == UInt64 {
    /// The ordinal numbered `rawValue`.
    init(rawValue: UInt64)
}

extension EventOrdinal {
    /// The ordinal numbered `value`, which must not be negative.
    @inlinable public init<Number: BinaryInteger>(_ value: Number) { self.init(rawValue: UInt64(value)) }

    /// An ordinal written as a literal, e.g. `1`.
    @inlinable public init(integerLiteral value: UInt64) { self.init(rawValue: value) }

    /// An ordinal written in decimal, e.g. `"42"`; nil for anything else.
    @inlinable public init?<Text: StringProtocol>(_ text: Text) {
        guard let value = UInt64(text) else { return nil }
        self.init(rawValue: value)
    }

    /// Past every ordinal: reads to the end.
    @inlinable public static var max: Self { Self(rawValue: .max) }

    @inlinable public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    /// How many events lie from this one up to `other` (negative when it comes before).
    @inlinable public func distance(to other: Self) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }

    /// The ordinal `count` events on (back, when negative).
    @inlinable public func advanced(by count: Int64) -> Self { Self(rawValue: rawValue &+ UInt64(bitPattern: count)) }

    /// The ordinal `count` events later.
    @inlinable public static func + (lhs: Self, count: UInt64) -> Self { Self(rawValue: lhs.rawValue + count) }

    /// The ordinal `count` events earlier.
    @inlinable public static func - (lhs: Self, count: UInt64) -> Self { Self(rawValue: lhs.rawValue - count) }

    /// Moves `count` events on.
    @inlinable public static func += (lhs: inout Self, count: UInt64) { lhs = lhs + count }

    @inlinable public var description: String { String(rawValue) }
}

/// A global position in the log: gap-free, from 1, strictly increasing. 0 means "before the first event".
public struct Position: EventOrdinal {
    /// The position as a number.
    public var rawValue: UInt64

    /// The position numbered `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

/// A version within one stream: gap-free, from 1. 0 means the stream does not exist yet.
public struct StreamVersion: EventOrdinal {
    /// The version as a number.
    public var rawValue: UInt64

    /// The version numbered `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }
}

extension BinaryInteger {
    /// The number of a position or a stream version (for arithmetic, keys and JSON).
    @inlinable public init<Ordinal: EventOrdinal>(_ ordinal: Ordinal) { self.init(ordinal.rawValue) }
}
