import EventStore
import Foundation
import ZIPFoundation

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// Why a spreadsheet file could not be read.
public struct SpreadsheetError: Error, CustomStringConvertible {
    /// What went wrong, for the person who gave the file.
    public let description: String
}

/// The first worksheet of an Office Open XML workbook (.xlsx), as Excel, LibreOffice and
/// openpyxl write it: shared and inline strings, numbers, booleans, and dates (numbers whose
/// cell format is a date format, counted in days from 1899-12-30).
public enum XLSXFile {
    /// The first worksheet's rows, row n of the sheet at index n - 1 (missing rows are empty).
    public static func records(at path: String) throws -> [[String]] {
        let archive: Archive
        do { archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read) } catch {
            throw SpreadsheetError(description: "\(path) is not an XLSX file (not a ZIP archive): \(error)")
        }
        func part(_ name: String) throws -> Data? {
            guard let entry = archive[name] else { return nil }
            var data = Data()
            _ = try archive.extract(entry, skipCRC32: false) { data.append($0) }
            return data
        }
        guard let workbook = try part("xl/workbook.xml") else {
            throw SpreadsheetError(description: "\(path) has no workbook (xl/workbook.xml)")
        }
        let sheetPath = try firstSheetPath(workbook: workbook, relations: try part("xl/_rels/workbook.xml.rels"))
        guard let sheet = try part(sheetPath) else {
            throw SpreadsheetError(description: "\(path) names a worksheet it does not hold (\(sheetPath))")
        }
        let strings = try part("xl/sharedStrings.xml").map(sharedStrings) ?? []
        let dateStyles = try part("xl/styles.xml").map(dateStyleIndexes) ?? []
        return try cells(sheet, strings: strings, dateStyles: dateStyles)
    }

    /// The archive path of the workbook's first sheet, through the workbook's relationships.
    static func firstSheetPath(workbook: Data, relations: Data?) throws -> String {
        let sheets = Elements(workbook, named: ["sheet"])
        guard let relationId = sheets.found.first?["r:id"] ?? sheets.found.first?["id"] else {
            throw SpreadsheetError(description: "the workbook lists no sheet")
        }
        let targets = relations.map { Elements($0, named: ["Relationship"]).found } ?? []
        guard let target = targets.first(where: { $0["Id"] == relationId })?["Target"] else {
            return "xl/worksheets/sheet1.xml"
        }
        return target.hasPrefix("/") ? String(target.dropFirst()) : "xl/" + target
    }

    /// The shared string table: each `si`'s text runs joined (phonetic runs left out).
    static func sharedStrings(_ data: Data) throws -> [String] {
        let reader = SharedStringsReader()
        try parse(data, reader)
        return reader.strings
    }

    /// Indexes into `cellXfs` whose number format shows a date.
    static func dateStyleIndexes(_ data: Data) throws -> Set<Int> {
        let reader = StylesReader()
        try parse(data, reader)
        var indexes = Set<Int>()
        for (index, formatId) in reader.cellFormats.enumerated() {
            if (14...22).contains(formatId) || (45...47).contains(formatId) {
                indexes.insert(index)
            } else if let code = reader.customFormats[formatId], isDateFormat(code) {
                indexes.insert(index)
            }
        }
        return indexes
    }

    /// Whether a format code shows a date: it has a day, month or year outside quoted text
    /// and brackets (`[Red]`, `[$-fa-IR]`).
    static func isDateFormat(_ code: String) -> Bool {
        var quoted = false
        var bracket = false
        for character in code.lowercased() {
            switch character {
            case "\"": quoted.toggle()
            case "[": bracket = true
            case "]": bracket = false
            case "d", "m", "y": if !quoted && !bracket { return true }
            default: continue
            }
        }
        return false
    }

    static func cells(_ data: Data, strings: [String], dateStyles: Set<Int>) throws -> [[String]] {
        let reader = SheetReader(strings: strings, dateStyles: dateStyles)
        try parse(data, reader)
        return reader.rows
    }

    static func parse(_ data: Data, _ delegate: XMLParserDelegate) throws {
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = false
        parser.delegate = delegate
        guard parser.parse() else {
            throw SpreadsheetError(
                description: "the workbook's XML is malformed: \(parser.parserError.map { "\($0)" } ?? "unknown error")")
        }
    }

    /// An Excel serial day count (days since 1899-12-30, fractions for the time of day) as
    /// `YYYY-MM-DD`, or `YYYY-MM-DDTHH:MM:SS` when it has a time.
    public static func date(fromSerial serial: Double) -> String {
        // 1899-12-30 is 25,569 days before 1970-01-01.
        let seconds = Int64(((serial - 25_569) * 86_400).rounded())
        let text = Timestamp(microsecondsSince1970: seconds * 1_000_000).rfc3339
        return seconds % 86_400 == 0 ? String(text.prefix(10)) : String(text.prefix(19))
    }

    /// A number as a spreadsheet user reads it: integers without a decimal point or exponent.
    static func number(_ text: String) -> String {
        guard let value = Double(text), value.rounded() == value, abs(value) < 1e15 else { return text }
        return String(Int64(value))
    }
}

/// Collects the attributes of every element with one of the given names.
private final class Elements: NSObject, XMLParserDelegate {
    let names: Set<String>
    var found: [[String: String]] = []

    init(_ data: Data, named names: Set<String>) {
        self.names = names
        super.init()
        let parser = XMLParser(data: data)
        parser.delegate = self
        parser.parse()
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        if names.contains(elementName) || names.contains(elementName.split(separator: ":").last.map(String.init) ?? "") {
            found.append(attributes)
        }
    }
}

private final class SharedStringsReader: NSObject, XMLParserDelegate {
    var strings: [String] = []
    private var current = ""
    private var inText = false
    private var inPhonetic = false

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        switch elementName {
        case "si": current = ""
        case "t": inText = !inPhonetic
        case "rPh": inPhonetic = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inText { current += string }
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        switch elementName {
        case "si": strings.append(current)
        case "t": inText = false
        case "rPh": inPhonetic = false
        default: break
        }
    }
}

private final class StylesReader: NSObject, XMLParserDelegate {
    var customFormats: [Int: String] = [:]
    var cellFormats: [Int] = []
    private var inCellXfs = false

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        switch elementName {
        case "numFmt":
            if let id = attributes["numFmtId"].flatMap(Int.init), let code = attributes["formatCode"] {
                customFormats[id] = code
            }
        case "cellXfs": inCellXfs = true
        case "xf" where inCellXfs: cellFormats.append(attributes["numFmtId"].flatMap(Int.init) ?? 0)
        default: break
        }
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        if elementName == "cellXfs" { inCellXfs = false }
    }
}

private final class SheetReader: NSObject, XMLParserDelegate {
    let strings: [String]
    let dateStyles: Set<Int>
    var rows: [[String]] = []
    private var rowNumber = 0
    private var column = 0
    private var type = "n"
    private var style = 0
    private var text = ""
    private var collecting = false
    private var value: String?

    init(strings: [String], dateStyles: Set<Int>) {
        self.strings = strings
        self.dateStyles = dateStyles
    }

    /// The zero-based column of a cell reference such as `AB12`.
    static func column(of reference: String) -> Int? {
        var column = 0
        var letters = 0
        for scalar in reference.unicodeScalars {
            guard ("A"..."Z").contains(scalar) else { break }
            column = column * 26 + Int(scalar.value - 64)
            letters += 1
        }
        return letters == 0 ? nil : column - 1
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName: String?,
        attributes: [String: String]
    ) {
        switch elementName {
        case "row":
            rowNumber = attributes["r"].flatMap(Int.init) ?? rowNumber + 1
            while rows.count < rowNumber { rows.append([]) }
            column = 0
        case "c":
            column = attributes["r"].flatMap(SheetReader.column(of:)) ?? column
            type = attributes["t"] ?? "n"
            style = attributes["s"].flatMap(Int.init) ?? 0
            value = nil
        case "v", "t":
            text = ""
            collecting = true
        default: break
        }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if collecting { text += string }
    }

    func parser(
        _ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName: String?
    ) {
        switch elementName {
        case "v", "t":
            collecting = false
            value = (value ?? "") + text
        case "c":
            defer { column += 1 }
            guard let raw = value, rowNumber > 0 else { return }
            let cell: String
            switch type {
            case "s": cell = Int(raw).flatMap { $0 < strings.count ? strings[$0] : nil } ?? ""
            case "b": cell = raw == "1" ? "TRUE" : "FALSE"
            case "inlineStr", "str", "e": cell = raw
            default:
                cell =
                    dateStyles.contains(style)
                    ? Double(raw).map(XLSXFile.date(fromSerial:)) ?? raw : XLSXFile.number(raw)
            }
            var row = rows[rowNumber - 1]
            while row.count < column { row.append("") }
            if row.count == column { row.append(cell) } else { row[column] = cell }
            rows[rowNumber - 1] = row
        default: break
        }
    }
}

extension XLSXFile {
    /// A workbook of one sheet holding `rows`, every cell as text (so phone numbers keep their
    /// leading zero and dates their written form), right to left when `rightToLeft`.
    public static func workbook(_ rows: [[String]], sheetName: String = "crmd", rightToLeft: Bool = false) throws
        -> Data
    {
        func escaped(_ text: String) -> String {
            var out = ""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
                default:
                    // Control characters are not allowed in XML 1.0 at all.
                    if scalar.value >= 0x20 { out.unicodeScalars.append(scalar) }
                }
            }
            return out
        }
        func columnName(_ index: Int) -> String {
            var name = ""
            var n = index + 1
            while n > 0 {
                let remainder = (n - 1) % 26
                name = String(UnicodeScalar(UInt8(65 + remainder))) + name
                n = (n - 1) / 26
            }
            return name
        }
        var sheet = """
            <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetViews><sheetView workbookViewId="0"\(rightToLeft ? " rightToLeft=\"1\"" : "")/></sheetViews><sheetData>
            """
        for (r, row) in rows.enumerated() {
            sheet += "<row r=\"\(r + 1)\">"
            for (c, cell) in row.enumerated() where !cell.isEmpty {
                sheet += "<c r=\"\(columnName(c))\(r + 1)\" t=\"inlineStr\"><is><t xml:space=\"preserve\">\(escaped(cell))</t></is></c>"
            }
            sheet += "</row>"
        }
        sheet += "</sheetData></worksheet>"
        let parts: [(String, String)] = [
            (
                "[Content_Types].xml",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>
                """
            ),
            (
                "_rels/.rels",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>
                """
            ),
            (
                "xl/workbook.xml",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="\(escaped(sheetName))" sheetId="1" r:id="rId1"/></sheets></workbook>
                """
            ),
            (
                "xl/_rels/workbook.xml.rels",
                """
                <?xml version="1.0" encoding="UTF-8" standalone="yes"?>
                <Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>
                """
            ),
            ("xl/worksheets/sheet1.xml", sheet),
        ]
        let archive = try Archive(data: Data(), accessMode: .create)
        for (path, text) in parts {
            let bytes = Data(text.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(bytes.count), compressionMethod: .deflate
            ) { position, size in
                bytes.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        guard let data = archive.data else { throw SpreadsheetError(description: "the workbook could not be written") }
        return data
    }
}
