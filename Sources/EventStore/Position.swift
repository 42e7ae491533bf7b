/// A global position in the log: gap-free, from 1, strictly increasing. 0 means "before the first event".
public struct Position: RawRepresentable, Hashable, Strideable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The position as a number.
    public var rawValue: UInt64

    /// The position numbered `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The position numbered `value`, which must not be negative.
    public init<Number: BinaryInteger>(_ value: Number) { rawValue = UInt64(value) }

    /// A position written as a literal, e.g. `1`.
    public init(integerLiteral value: UInt64) { rawValue = value }

    /// A position written in decimal, e.g. `"42"`; nil for anything else.
    public init?<Text: StringProtocol>(_ text: Text) {
        guard let value = UInt64(text) else { return nil }
        rawValue = value
    }

    /// Past every position: reads to the end of the log.
    public static let max = Position(rawValue: .max)

    public static func < (lhs: Position, rhs: Position) -> Bool { lhs.rawValue < rhs.rawValue }

    /// The position `count` events later.
    public static func + (lhs: Position, count: UInt64) -> Position { Position(rawValue: lhs.rawValue + count) }

    /// The position `count` events earlier.
    public static func - (lhs: Position, count: UInt64) -> Position { Position(rawValue: lhs.rawValue - count) }

    /// How many events lie from this position up to `other` (negative when it comes before).
    public func distance(to other: Position) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }

    /// The position `count` events on (back, when negative).
    public func advanced(by count: Int64) -> Position { Position(rawValue: rawValue &+ UInt64(bitPattern: count)) }

    /// Moves `count` events on.
    public static func += (lhs: inout Position, count: UInt64) { lhs.rawValue += count }

    public var description: String { String(rawValue) }
}

/// A version within one stream: gap-free, from 1. 0 means the stream does not exist yet.
public struct StreamVersion: RawRepresentable, Hashable, Strideable, Sendable, ExpressibleByIntegerLiteral,
    CustomStringConvertible
{
    /// The version as a number.
    public var rawValue: UInt64

    /// The version numbered `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// The version numbered `value`, which must not be negative.
    public init<Number: BinaryInteger>(_ value: Number) { rawValue = UInt64(value) }

    /// A version written as a literal, e.g. `1`.
    public init(integerLiteral value: UInt64) { rawValue = value }

    /// Past every version: reads to the end of a stream.
    public static let max = StreamVersion(rawValue: .max)

    public static func < (lhs: StreamVersion, rhs: StreamVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// How many versions lie from this one up to `other` (negative when it comes before).
    public func distance(to other: StreamVersion) -> Int64 { Int64(bitPattern: other.rawValue &- rawValue) }

    /// The version `count` events on (back, when negative).
    public func advanced(by count: Int64) -> StreamVersion {
        StreamVersion(rawValue: rawValue &+ UInt64(bitPattern: count))
    }

    /// The version `count` events later.
    public static func + (lhs: StreamVersion, count: UInt64) -> StreamVersion {
        StreamVersion(rawValue: lhs.rawValue + count)
    }

    /// The version `count` events earlier.
    public static func - (lhs: StreamVersion, count: UInt64) -> StreamVersion {
        StreamVersion(rawValue: lhs.rawValue - count)
    }

    /// Moves `count` events on.
    public static func += (lhs: inout StreamVersion, count: UInt64) { lhs.rawValue += count }

    public var description: String { String(rawValue) }
}

extension BinaryInteger {
    /// The number of a position (for arithmetic, keys and JSON).
    public init(_ position: Position) { self.init(position.rawValue) }
    /// The number of a stream version (for arithmetic, keys and JSON).
    public init(_ version: StreamVersion) { self.init(version.rawValue) }
}
