/// HTML written by hand, every value escaped on the way in: the pages are small and server-made,
/// and a builder of one function is easier to audit than a template language.
public struct HTML: Sendable, CustomStringConvertible {
    /// The markup.
    public let description: String

    /// Markup that is already safe (literal tags written in this module).
    init(raw: String) { description = raw }

    /// Text shown as text: `<`, `&`, quotes escaped, so nothing a user typed becomes markup.
    public static func text(_ value: String) -> HTML {
        // Most text has nothing to escape: one pass over its bytes finds out, and it goes in as is.
        guard value.utf8.contains(where: { $0 == 0x26 || $0 == 0x3C || $0 == 0x3E || $0 == 0x22 || $0 == 0x27 }) else {
            return HTML(raw: value)
        }
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count + 32)
        for byte in value.utf8 {
            switch byte {
            case 0x26: out += "&amp;".utf8
            case 0x3C: out += "&lt;".utf8
            case 0x3E: out += "&gt;".utf8
            case 0x22: out += "&quot;".utf8
            case 0x27: out += "&#39;".utf8
            default: out.append(byte)
            }
        }
        return HTML(raw: String(decoding: out, as: UTF8.self))
    }

    /// Pieces one after the other.
    static func join(_ pieces: [HTML]) -> HTML { HTML(raw: pieces.map(\.description).joined()) }
}

/// Interpolation that escapes: `"<p>\(name)</p>"` as HTML puts `name` in as text, and another
/// `HTML` value in as markup.
extension HTML: ExpressibleByStringInterpolation {
    public init(stringLiteral value: String) { description = value }

    public init(stringInterpolation: Interpolation) { description = stringInterpolation.out }

    /// Collects literal markup and escaped values.
    public struct Interpolation: StringInterpolationProtocol {
        var out = ""
        public init(literalCapacity: Int, interpolationCount: Int) { out.reserveCapacity(literalCapacity * 2) }
        public mutating func appendLiteral(_ literal: String) { out += literal }
        public mutating func appendInterpolation(_ value: String) { out += HTML.text(value).description }
        public mutating func appendInterpolation(_ value: HTML) { out += value.description }
        public mutating func appendInterpolation(_ value: Int) { out += String(value) }
    }
}
