/// The text encodings spreadsheets are saved in, as Excel and its peers write them.
///
/// Excel's "CSV" on a Persian Windows is Windows-1256 (no BOM, no Persian yeh or Persian digits:
/// it writes ي and Latin digits); "CSV UTF-8" starts with a BOM; "Unicode text" is UTF-16
/// little-endian with a BOM and tabs between cells.
public enum TextEncoding: String, Sendable, CaseIterable {
    case utf8 = "utf-8"
    case utf16LE = "utf-16le"
    case utf16BE = "utf-16be"
    case windows1256 = "windows-1256"

    /// The encoding of `bytes` and the length of its byte-order mark: a BOM decides; else
    /// well-formed UTF-8 is UTF-8; else text with a zero in every other byte is UTF-16; else
    /// Windows-1256 (every byte sequence is valid in it).
    public static func detect(_ bytes: [UInt8]) -> (encoding: TextEncoding, bom: Int) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { return (.utf8, 3) }
        if bytes.starts(with: [0xFF, 0xFE]) { return (.utf16LE, 2) }
        if bytes.starts(with: [0xFE, 0xFF]) { return (.utf16BE, 2) }
        let sample = bytes.prefix(4096)
        if sample.count >= 4 {
            let oddZeros = stride(from: 1, to: sample.count, by: 2).filter { sample[$0] == 0 }.count
            let evenZeros = stride(from: 0, to: sample.count, by: 2).filter { sample[$0] == 0 }.count
            if oddZeros > sample.count / 4, evenZeros == 0 { return (.utf16LE, 0) }
            if evenZeros > sample.count / 4, oddZeros == 0 { return (.utf16BE, 0) }
        }
        return (String(validating: bytes, as: UTF8.self) != nil ? .utf8 : .windows1256, 0)
    }

    /// `bytes` (after any BOM) as text.
    public func decode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        switch self {
        case .utf8:
            return String(decoding: bytes, as: UTF8.self)
        case .utf16LE, .utf16BE:
            let array = Array(bytes)
            var units: [UInt16] = []
            units.reserveCapacity(array.count / 2)
            var index = 0
            while index + 1 < array.count {
                let (a, b) = (UInt16(array[index]), UInt16(array[index + 1]))
                units.append(self == .utf16LE ? a | b << 8 : a << 8 | b)
                index += 2
            }
            return String(decoding: units, as: UTF16.self)
        case .windows1256:
            var scalars = String.UnicodeScalarView()
            for byte in bytes {
                let value = byte < 0x80 ? UInt32(byte) : UInt32(TextEncoding.windows1256High[Int(byte) - 0x80])
                scalars.append(Unicode.Scalar(value)!)
            }
            return String(scalars)
        }
    }

    /// `text` in this encoding, with the BOM Excel expects of it (none for Windows-1256 and,
    /// by choice, a BOM for UTF-8 so Excel shows Persian). Characters Windows-1256 lacks are
    /// written as Excel writes them (Persian yeh as Arabic yeh, Persian digits as Latin ones)
    /// or as `?`.
    public func encode(_ text: String, bom: Bool = true) -> [UInt8] {
        switch self {
        case .utf8:
            return (bom ? [0xEF, 0xBB, 0xBF] : []) + Array(text.utf8)
        case .utf16LE, .utf16BE:
            var bytes: [UInt8] = bom ? (self == .utf16LE ? [0xFF, 0xFE] : [0xFE, 0xFF]) : []
            for unit in text.utf16 {
                let (low, high) = (UInt8(unit & 0xFF), UInt8(unit >> 8))
                bytes += self == .utf16LE ? [low, high] : [high, low]
            }
            return bytes
        case .windows1256:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.unicodeScalars.count)
            for scalar in text.unicodeScalars {
                if scalar.isASCII {
                    bytes.append(UInt8(scalar.value))
                } else if let byte = TextEncoding.windows1256Bytes[scalar.value] {
                    bytes.append(byte)
                } else if let substitute = TextEncoding.windows1256Substitutes[scalar.value] {
                    bytes.append(substitute)
                } else {
                    bytes.append(UInt8(ascii: "?"))
                }
            }
            return bytes
        }
    }

    /// `text` with the Arabic yeh and kaf that Windows-1256 forces on Persian text (it has no
    /// Persian yeh; Excel writes ي for ی) turned back into the Persian letters the user typed.
    public static func persianLetters(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    switch scalar.value {
                    case 0x064A: "\u{06CC}"
                    case 0x0643: "\u{06A9}"
                    default: scalar
                    }
                }))
    }

    /// Code points of bytes 0x80...0xFF in Windows-1256 (from the published code page).
    static let windows1256High: [UInt16] = [
        0x20AC, 0x067E, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
        0x02C6, 0x2030, 0x0679, 0x2039, 0x0152, 0x0686, 0x0698, 0x0688,
        0x06AF, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
        0x06A9, 0x2122, 0x0691, 0x203A, 0x0153, 0x200C, 0x200D, 0x06BA,
        0x00A0, 0x060C, 0x00A2, 0x00A3, 0x00A4, 0x00A5, 0x00A6, 0x00A7,
        0x00A8, 0x00A9, 0x06BE, 0x00AB, 0x00AC, 0x00AD, 0x00AE, 0x00AF,
        0x00B0, 0x00B1, 0x00B2, 0x00B3, 0x00B4, 0x00B5, 0x00B6, 0x00B7,
        0x00B8, 0x00B9, 0x061B, 0x00BB, 0x00BC, 0x00BD, 0x00BE, 0x061F,
        0x06C1, 0x0621, 0x0622, 0x0623, 0x0624, 0x0625, 0x0626, 0x0627,
        0x0628, 0x0629, 0x062A, 0x062B, 0x062C, 0x062D, 0x062E, 0x062F,
        0x0630, 0x0631, 0x0632, 0x0633, 0x0634, 0x0635, 0x0636, 0x00D7,
        0x0637, 0x0638, 0x0639, 0x063A, 0x0640, 0x0641, 0x0642, 0x0643,
        0x00E0, 0x0644, 0x00E2, 0x0645, 0x0646, 0x0647, 0x0648, 0x00E7,
        0x00E8, 0x00E9, 0x00EA, 0x00EB, 0x0649, 0x064A, 0x00EE, 0x00EF,
        0x064B, 0x064C, 0x064D, 0x064E, 0x00F4, 0x064F, 0x0650, 0x00F7,
        0x0651, 0x00F9, 0x0652, 0x00FB, 0x00FC, 0x200E, 0x200F, 0x06D2,
    ]

    static let windows1256Bytes: [UInt32: UInt8] = Dictionary(
        uniqueKeysWithValues: windows1256High.enumerated().map { (UInt32($0.element), UInt8($0.offset + 0x80)) })

    /// What Excel writes for characters the code page lacks.
    static let windows1256Substitutes: [UInt32: UInt8] = {
        var substitutes: [UInt32: UInt8] = [0x06CC: windows1256Bytes[0x064A]!]  // ی → ي
        for digit in 0..<10 {
            substitutes[0x06F0 + UInt32(digit)] = UInt8(0x30 + digit)  // ۰–۹
            substitutes[0x0660 + UInt32(digit)] = UInt8(0x30 + digit)  // ٠–٩
        }
        substitutes[0x066C] = UInt8(ascii: ",")  // Arabic thousands separator
        return substitutes
    }()
}
