import Foundation
import XCTest

@testable import Importer

/// Files as the programs people use write them (tools/make_import_fixtures.py made them with
/// the code page Excel uses, Excel's "Unicode text" format and LibreOffice Calc), read back.
final class SpreadsheetReadingTests: XCTestCase {
    func fixture(_ name: String) throws -> [UInt8] {
        let url = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/" + name, withExtension: nil))
        return [UInt8](try Data(contentsOf: url))
    }

    func testExcelsPersianCSVIsWindows1256AndReadsBackAsPersian() throws {
        let bytes = try fixture("customers-excel-1256.csv")
        let (encoding, bom) = TextEncoding.detect(bytes)
        XCTAssertEqual(encoding, .windows1256)
        XCTAssertEqual(bom, 0)
        let raw = encoding.decode(bytes)
        XCTAssertTrue(raw.contains("رضا رضايي"), "Excel wrote Arabic yeh")
        let text = TextEncoding.persianLetters(raw)
        let rows = CSVFile.records(text)
        XCTAssertEqual(rows.count, 11)
        XCTAssertEqual(rows[1][0], "رضا رضایی")
        XCTAssertEqual(rows[2][0], "شرکت پارس\u{200C}پخش", "the zero-width non-joiner survives code page 1256")
        XCTAssertEqual(rows[1][5], "VIP،عمده")
        let columns = try Columns(headers: rows[0], kind: .customers)
        XCTAssertEqual(
            (0..<rows[0].count).map { columns.fields[$0] },
            [.name, .phone, .email, .agent, .source, .tags, .registered, .kind, .address])
        XCTAssertTrue(columns.persian)
        // Written back as Excel reads it: the same bytes for the same text.
        XCTAssertEqual(TextEncoding.windows1256.encode(text), bytes)
    }

    func testExcelsUnicodeTextIsUTF16WithTabs() throws {
        let bytes = try fixture("interactions-unicode-text.txt")
        let (encoding, bom) = TextEncoding.detect(bytes)
        XCTAssertEqual(encoding, .utf16LE)
        XCTAssertEqual(bom, 2)
        let text = encoding.decode(bytes.dropFirst(bom))
        XCTAssertEqual(CSVFile.delimiter(of: text), "\t")
        let rows = CSVFile.records(text)
        XCTAssertEqual(rows[1], ["۰۹۱۲۳۴۵۶۷۸۹", "تماس", "۱۴۰۲/۰۲/۰۱ ۱۰:۳۰", "maryam", "ورودی", "interested", "قیمت چاپگر را پرسید"])
        let columns = try Columns(headers: rows[0], kind: .interactions)
        XCTAssertEqual(columns.column(of: .customer), 0)
        XCTAssertEqual(columns.column(of: .text), 6)
        XCTAssertEqual(TextEncoding.utf16LE.encode(text), bytes, "round trip with the BOM")
    }

    func testAnXLSXSavedByLibreOfficeHasItsDatesAndNumbers() throws {
        let bytes = try fixture("invoices-libreoffice.xlsx")
        let path = NSTemporaryDirectory() + "crmd-\(UUID().uuidString).xlsx"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let rows = try XLSXFile.records(at: path)
        XCTAssertEqual(rows.count, 6)
        XCTAssertEqual(rows[0], ["شماره فاکتور", "مشتری", "تاریخ", "کارشناس", "کالا", "تعداد", "فی", "پرداختی"])
        XCTAssertEqual(
            rows[1], ["1001", "9123456789", "2023-06-10", "maryam", "چاپگر لیزری", "2", "250000000", "300000000"],
            "a date cell reads as its date, a phone stored as a number lost its zero as in Excel")
        XCTAssertEqual(rows[2].count, 7, "an empty last cell is not written")
        XCTAssertEqual(try Columns(headers: rows[0], kind: .invoices).column(of: .unitPrice), 6)
    }

    func testSheetCellsOfEveryKind() throws {
        let sheet = """
            <?xml version="1.0" encoding="UTF-8"?>
            <worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
            <row r="1"><c r="A1" t="s"><v>1</v></c><c r="C1" t="inlineStr"><is><t>تلفن</t></is></c></row>
            <row r="3"><c r="A3" t="str"><v>فرمول</v></c><c r="B3" t="b"><v>1</v></c><c r="C3" s="1"><v>45017.5</v></c>
            <c r="D3"><v>9.123456789E9</v></c><c r="E3"><v>12.5</v></c></row>
            </sheetData></worksheet>
            """
        let rows = try XLSXFile.cells(Data(sheet.utf8), strings: ["نام", "نام مشتری"], dateStyles: [1])
        XCTAssertEqual(rows.count, 3)
        XCTAssertEqual(rows[0], ["نام مشتری", "", "تلفن"])
        XCTAssertEqual(rows[1], [], "a missing row is an empty row, so row numbers stay the sheet's")
        XCTAssertEqual(rows[2], ["فرمول", "TRUE", "2023-04-01T12:00:00", "9123456789", "12.5"])
        XCTAssertTrue(XLSXFile.isDateFormat("[$-fa-IR]yyyy/mm/dd"))
        XCTAssertFalse(XLSXFile.isDateFormat("#,##0\" ریال\""))
        XCTAssertFalse(XLSXFile.isDateFormat("[Red]0.00"))
    }

    func testCSVQuotesDelimitersAndLineBreaks() {
        let text = "name;note\r\n\"Kian; Co\";\"line one\nline \"\"two\"\"\"\r\n\r\nlast;\r\n"
        XCTAssertEqual(CSVFile.delimiter(of: text), ";")
        XCTAssertEqual(
            CSVFile.records(text), [["name", "note"], ["Kian; Co", "line one\nline \"two\""], [""], ["last", ""]])
        let written = CSVFile.text([["a,b", "c\"d"], ["e", ""]])
        XCTAssertEqual(written, "\"a,b\",\"c\"\"d\"\r\ne,\r\n")
        XCTAssertEqual(CSVFile.records(written), [["a,b", "c\"d"], ["e", ""]])
    }

    func testDatesInEveryCalendarAndDigit() throws {
        let values = CellValues(timeZone: TimeZone(identifier: "Asia/Tehran")!)
        XCTAssertEqual(values.day("۱۴۰۲/۰۱/۱۵")?.iso, "2023-04-04")
        XCTAssertEqual(values.day("1405/01/01")?.iso, "2026-03-21", "Nowruz 1405")
        XCTAssertEqual(values.day("1404/12/29")?.iso, "2026-03-20")
        XCTAssertEqual(values.day("٢٠٢٣-٠٥-٠١")?.iso, "2023-05-01")
        XCTAssertEqual(values.day("01/05/2023")?.iso, "2023-05-01", "day/month/year with the year last")
        XCTAssertNil(values.day("1402/13/40"))
        XCTAssertNil(values.day("1402/12/31"), "Esfand 1402 has 29 days")
        XCTAssertNil(values.day("2023-02-29"))
        XCTAssertNil(values.day("فردا"))
        XCTAssertEqual(values.instant("۱۴۰۲/۰۲/۰۱ ۱۰:۳۰"), "2023-04-21T07:00:00.000000Z", "Tehran is UTC+03:30")
        XCTAssertEqual(values.instant("2023-05-01"), "2023-05-01T08:30:00.000000Z", "a bare day is noon in Tehran")
        XCTAssertEqual(values.instant("2023-05-01T10:00:00+02:00"), "2023-05-01T08:00:00.000000Z")
        let now = Date()
        let today = values.instant(String(CellValues.rfc3339(now).prefix(10)), now: now)
        XCTAssertLessThanOrEqual(try XCTUnwrap(today), CellValues.rfc3339(now), "today is never in the future")
    }

    func testPhonesAsExcelAndPeopleWriteThem() {
        for text in ["9123456789", "0912-345-6789", "+98 912 345 6789", "۰۹۱۲۳۴۵۶۷۸۹", "00989123456789", "(0912) 345 6789"] {
            XCTAssertEqual(CellValues.phone(text), "09123456789", text)
        }
        XCTAssertEqual(CellValues.phone("021-4444 5555"), "02144445555")
        XCTAssertEqual(CellValues.phone("+1 415 555 0100"), "+14155550100")
        XCTAssertNil(CellValues.phone("0912"))
        XCTAssertNil(CellValues.phone("call me"))
        XCTAssertEqual(CellValues.phones("0912 345 6789; 021-4444 5555"), ["09123456789", "02144445555"])
        XCTAssertEqual(CellValues.phoneKey("+98 912 345 6789"), CellValues.phoneKey("09123456789"))
        XCTAssertEqual(CellValues.email(" Reza@Example.IR "), "reza@example.ir")
        XCTAssertNil(CellValues.email("reza-at-example"))
    }

    func testAmountsInRialsAndTomans() {
        let rials = CellValues(timeZone: .gmt)
        XCTAssertEqual(rials.rials("۱٬۲۵۰٬۰۰۰"), 1_250_000)
        XCTAssertEqual(rials.rials("1,250,000"), 1_250_000)
        XCTAssertEqual(rials.rials("1250000.00"), 1_250_000)
        XCTAssertEqual(rials.rials("12,500,000 تومان"), 125_000_000, "a unit word wins over the file's unit")
        XCTAssertNil(rials.rials("12.5"))
        XCTAssertNil(rials.rials("دوازده"))
        let tomans = CellValues(timeZone: .gmt, rialsPerUnit: 10)
        XCTAssertEqual(tomans.rials("۱۲٬۰۰۰"), 120_000)
        XCTAssertEqual(tomans.rials("5000 ریال"), 5_000)
    }

    func testHeadersAreMatchedAfterPersianNormalisationAndAMappingCoversTheRest() throws {
        let headers = ["نام و نام خانوادگي", "تلفن همراه (موبايل)", "Mobile No.", "ايميل*", "نحوه آشنايي"]
        let columns = try Columns(headers: headers, kind: .customers, mapping: ["Mobile No.": "phone"])
        XCTAssertEqual(columns.fields[0], .name)
        XCTAssertEqual(columns.fields[2], .phone, "the mapping wins")
        XCTAssertNil(columns.fields[1], "one column per field")
        XCTAssertEqual(columns.fields[3], .email)
        XCTAssertEqual(columns.fields[4], .source)
        XCTAssertThrowsError(try Columns(headers: ["شماره"], kind: .customers)) { error in
            XCTAssertTrue("\(error)".contains("name (نام)"), "\(error)")
        }
        XCTAssertThrowsError(try Columns(headers: ["نام"], kind: .customers, mapping: ["x": "price"]))
    }
}
