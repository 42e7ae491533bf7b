/// Normalises text for search, so that what a user types finds what another user wrote.
///
/// Persian is often typed with Arabic keyboard forms (ي for ی, ك for ک), with or without the
/// zero-width non-joiner, and with Persian, Arabic-Indic or Latin digits; Latin text differs in
/// case. All of these fold to one form here. Used for indexing and for queries alike.
public enum SearchText {
    /// The folded form of `text`: Arabic yeh/kaf/teh-marbuta/heh forms mapped to Persian ones,
    /// diacritics (harakat) and tatweel removed, ZWNJ/ZWJ and other format characters turned
    /// into a space, all digits made ASCII, Latin lower-cased, runs of spaces collapsed.
    public static func normalize(_ text: String) -> String {
        // UTF-8 bytes, made into a string once: appending scalars to a string one by one cost
        // more than the folding itself when the projector indexes every note.
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        var pendingSpace = false
        for scalar in text.unicodeScalars {
            guard let folded = fold(scalar) else { continue }
            if folded == " " {
                pendingSpace = !out.isEmpty
                continue
            }
            if pendingSpace {
                out.append(UInt8(ascii: " "))
                pendingSpace = false
            }
            if folded.isASCII {
                out.append(UInt8(folded.value))
            } else {
                UTF8.encode(folded) { out.append($0) }
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Only the digits of a phone number, in ASCII, so `+98 912-345 ۶۷۸۹` finds `989123456789`.
    public static func phoneDigits(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.compactMap { scalar in
                    let folded = asciiDigit(scalar) ?? scalar
                    return ("0"..."9").contains(folded) ? folded : nil
                }))
    }

    /// Splits normalised text into words for an index.
    public static func words(_ text: String) -> [String] {
        normalize(text).split(separator: " ").map(String.init)
    }

    private static func fold(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        // Fast paths for the two scripts nearly all text here is in; Unicode property lookups
        // are only needed for the rest.
        if scalar.isASCII {
            switch scalar {
            case "A"..."Z": return Unicode.Scalar(scalar.value + 32)
            case " ", "\t", "\n", "\r", "\u{0B}", "\u{0C}": return " "
            default: return scalar
            }
        }
        if let digit = asciiDigit(scalar) { return digit }
        switch scalar.value {
        case 0x064A, 0x0649, 0x06CC: return "\u{06CC}"  // ي ى ی → ی
        case 0x0643, 0x06A9: return "\u{06A9}"  // ك ک → ک
        case 0x0629: return "\u{0647}"  // ة → ه
        case 0x06C0: return "\u{0647}"  // ۀ → ه
        case 0x0623, 0x0625, 0x0622, 0x0671: return "\u{0627}"  // أ إ آ ٱ → ا
        case 0x0624: return "\u{0648}"  // ؤ → و
        case 0x0640: return nil  // tatweel
        case 0x064B...0x065F, 0x0670: return nil  // harakat, superscript alef
        case 0x200C, 0x200D, 0x200B, 0x00A0, 0x202F, 0x2009: return " "  // ZWNJ, ZWJ, ZWSP, no-break and thin spaces
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return nil  // bidi controls
        case 0x0600...0x06FF: return scalar
        default: break
        }
        if scalar.properties.isWhitespace { return " " }
        if scalar.isASCII, ("A"..."Z").contains(scalar) { return Unicode.Scalar(scalar.value + 32) }
        if !scalar.isASCII, scalar.properties.changesWhenLowercased,
            let lower = scalar.properties.lowercaseMapping.unicodeScalars.first
        {
            return lower
        }
        return scalar
    }

    private static func asciiDigit(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        switch scalar.value {
        case 0x06F0...0x06F9: return Unicode.Scalar(scalar.value - 0x06F0 + 0x30)  // Persian ۰–۹
        case 0x0660...0x0669: return Unicode.Scalar(scalar.value - 0x0660 + 0x30)  // Arabic-Indic ٠–٩
        default: return nil
        }
    }
}
