import Foundation

/// Comma-separated values as spreadsheets write them (RFC 4180: quoted cells may hold the
/// delimiter, quotes doubled, and line breaks), with the delimiter found from the header line:
/// a comma, a semicolon (Excel where the decimal mark is a comma) or a tab ("Unicode text").
public enum CSVFile {
    /// The delimiters recognised, in order of preference on a tie.
    static let delimiters: [Character] = [",", ";", "\t"]

    /// The delimiter of `text`: the candidate seen most often outside quotes on its first line.
    public static func delimiter(of text: String) -> Character {
        var counts: [Character: Int] = [:]
        var quoted = false
        for character in text {
            if character == "\"" { quoted.toggle() }
            if !quoted, character == "\n" || character == "\r\n" || character == "\r" { break }
            if !quoted, delimiters.contains(character) { counts[character, default: 0] += 1 }
        }
        return delimiters.max { counts[$0, default: 0] < counts[$1, default: 0] } ?? ","
    }

    /// The records of `text`, each a list of cells; blank lines are kept as records with one
    /// empty cell, so that record n is the spreadsheet's row n.
    ///
    /// Walks Unicode scalars, not Characters: grapheme breaking cost more than the rest of an
    /// import's reading together. CR LF, LF and CR each end a record.
    public static func records(_ text: String, delimiter: Character? = nil) -> [[String]] {
        let separator = (delimiter ?? self.delimiter(of: text)).unicodeScalars.first!
        var records: [[String]] = []
        var record: [String] = []
        var cell = String.UnicodeScalarView()
        var quoted = false
        var afterQuote = false
        var pending = false
        var skipLineFeed = false
        for scalar in text.unicodeScalars {
            if skipLineFeed {
                skipLineFeed = false
                if scalar == "\n" { continue }
            }
            pending = true
            if quoted {
                if scalar == "\"" {
                    quoted = false
                    afterQuote = true
                } else {
                    cell.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"":
                // A doubled quote inside a quoted cell, or the opening quote of one.
                if afterQuote { cell.append("\"") }
                quoted = true
                afterQuote = false
            case separator:
                record.append(String(cell))
                cell = String.UnicodeScalarView()
                afterQuote = false
            case "\n", "\r":
                record.append(String(cell))
                records.append(record)
                record = []
                cell = String.UnicodeScalarView()
                afterQuote = false
                pending = false
                skipLineFeed = scalar == "\r"
            default:
                cell.append(scalar)
                afterQuote = false
            }
        }
        if pending {
            record.append(String(cell))
            records.append(record)
        }
        return records
    }

    /// `rows` as CSV text with CRLF line ends (what Excel writes), quoting cells that need it.
    public static func text(_ rows: [[String]], delimiter: Character = ",") -> String {
        var out = ""
        for row in rows {
            out += row.map { quote($0, delimiter) }.joined(separator: String(delimiter))
            out += "\r\n"
        }
        return out
    }

    private static func quote(_ cell: String, _ delimiter: Character) -> String {
        guard cell.contains(where: { $0 == delimiter || $0 == "\"" || $0.isNewline }) else { return cell }
        return "\"" + cell.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
