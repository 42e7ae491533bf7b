/// The name of a stream in the log (e.g. `customer-c42`): what events are grouped and versioned
/// by. The store gives names no meaning; the CRM builds them from an aggregate kind and an id.
public struct StreamName: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByStringInterpolation,
    CustomStringConvertible
{
    /// The name as stored: UTF-8, no zero byte (the stream index separates names from versions with one).
    public let rawValue: String

    /// The stream called `rawValue`.
    public init(rawValue: String) { self.rawValue = rawValue }

    /// The stream called `rawValue`.
    public init(_ rawValue: String) { self.rawValue = rawValue }

    /// A stream named by a literal, e.g. `"customer-c42"`.
    public init(stringLiteral value: String) { rawValue = value }

    /// A stream named by an interpolated literal, e.g. `"customer-\(id)"`.
    public init(stringInterpolation: DefaultStringInterpolation) {
        rawValue = String(stringInterpolation: stringInterpolation)
    }

    public static func < (lhs: StreamName, rhs: StreamName) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { rawValue }
}
