import Foundation

/// Prints rows as an aligned text table; widths count what a terminal shows, so Persian aligns too.
final class TableWriter {
    private let columns: [String]
    private var rows: [[String]] = []

    init(columns: [String]) {
        self.columns = columns
    }

    /// Adds one row; missing cells print empty.
    func add(_ row: [String]) { rows.append(row) }

    /// Writes the header, a rule and every row to standard output.
    func print() {
        let all = [columns] + rows
        var widths = [Int](repeating: 0, count: columns.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < widths.count {
                widths[i] = max(widths[i], TableWriter.displayWidth(cell))
            }
        }
        func line(_ row: [String]) -> String {
            (0..<columns.count).map { i in
                let cell = i < row.count ? row[i] : ""
                return cell + String(repeating: " ", count: widths[i] - TableWriter.displayWidth(cell))
            }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }
        Swift.print(line(columns))
        Swift.print(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows { Swift.print(line(row)) }
    }

    /// Columns a terminal uses for `text`: combining marks, ZWNJ/ZWJ and bidi controls take none,
    /// East Asian wide characters and emoji take two.
    static func displayWidth(_ text: String) -> Int {
        var width = 0
        for scalar in text.unicodeScalars {
            let value = scalar.value
            switch scalar.properties.generalCategory {
            case .nonspacingMark, .enclosingMark, .format, .control:
                continue
            default:
                break
            }
            if (0x1100...0x115F).contains(value) || (0x2E80...0xA4CF).contains(value)
                || (0xAC00...0xD7A3).contains(value)
                || (0xF900...0xFAFF).contains(value) || (0xFE30...0xFE4F).contains(value)
                || (0xFF00...0xFF60).contains(value)
                || (0x1F300...0x1FAFF).contains(value) || (0x20000...0x3FFFD).contains(value)
            {
                width += 2
            } else {
                width += 1
            }
        }
        return width
    }
}
