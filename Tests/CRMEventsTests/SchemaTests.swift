import CRMEvents
import JSONKit
import XCTest

final class SchemaTests: XCTestCase {
    let schema = Schema.record(
        [
            "id": .id, "amount": .money, "when": .dateTime, "tags": .list(.text(3), max: 2),
            "kind": .choice(["a", "b"]),
            "maybe": .nullable(.date), "a/b": .boolean,
        ], required: ["id"])

    func violation(_ text: String) throws -> SchemaViolation? { schema.validate(try JSON.parse(text)) }

    func testReportsTheFirstBadFieldAsAJSONPointer() throws {
        XCTAssertNil(
            try violation(
                #"{"id": "x-1", "amount": {"amount": 0, "currency": "IRR"}, "when": "2026-03-03T09:30:00.5+03:30", "tags": ["ab"], "kind": "a", "maybe": null, "a/b": true}"#
            ))
        XCTAssertEqual(try violation(#"{}"#), SchemaViolation(path: "/id", message: "is required"))
        XCTAssertEqual(
            try violation(#"{"id": "x", "amount": {"amount": -1, "currency": "IRR"}}"#)?.path, "/amount/amount")
        XCTAssertEqual(
            try violation(#"{"id": "x", "amount": {"amount": 1, "currency": "irr"}}"#)?.path, "/amount/currency")
        XCTAssertEqual(
            try violation(#"{"id": "x", "tags": ["ok", "long"]}"#),
            SchemaViolation(path: "/tags/1", message: "must have at most 3 characters"))
        XCTAssertEqual(try violation(#"{"id": "x", "tags": ["a", "b", "c"]}"#)?.message, "must have at most 2 items")
        XCTAssertEqual(try violation(#"{"id": "x", "kind": "c"}"#)?.message, "must be one of: a, b")
        XCTAssertEqual(try violation(#"{"id": "x", "when": "2026-03-03 09:30"}"#)?.path, "/when")
        XCTAssertEqual(try violation(#"{"id": "x", "maybe": 5}"#)?.path, "/maybe")
        XCTAssertEqual(try violation(#"{"id": "x", "a/b": "yes"}"#)?.path, "/a~1b", "pointer segments are escaped")
        XCTAssertEqual(
            try violation(#"{"id": "x", "extra": 1}"#), SchemaViolation(path: "/extra", message: "is not a known field")
        )
        XCTAssertEqual(try violation(#"[]"#), SchemaViolation(path: "", message: "must be an object, not array"))
    }

    func testPatternsAgreeWithTheirPublishedRegexes() throws {
        let samples: [Pattern: [(String, Bool)]] = [
            .id: [
                ("c-42", true), ("a.b_c", true), ("", false), ("with space", false), ("ای‌دی", false),
                (String(repeating: "x", count: 65), false),
            ],
            .dateTime: [
                ("2026-03-03T09:30:00Z", true), ("2026-03-03t09:30:00.123456+03:30", true),
                ("2026-03-03T09:30Z", false), ("2026-03-03T09:30:00", false),
            ],
            .date: [("2026-03-03", true), ("1405-01-01", true), ("2026-3-3", false)],
            .period: [
                ("2026", true), ("2026-12", true), ("2026-Q4", true), ("2026-13", false), ("2026-Q5", false),
                ("26", false),
            ],
            .phone: [
                ("+98 912 345 6789", true), ("۰۹۱۲۳۴۵۶۷۸۹", true), ("(021) 8888-7777", true), ("12", false),
                ("call me", false),
            ],
            .email: [
                ("reza@example.ir", true), ("a@b", false), ("two@@example.com", false), ("sp ace@example.com", false),
            ],
            .sealed: [
                ("v1.AAAA", true), ("v1.QUJD+/==", true), ("v2.AAAA", false), ("v1.", false), ("v1.AA===", false),
            ],
            .currency: [("IRR", true), ("irr", false), ("EURO", false)],
            .sha256: [(String(repeating: "a", count: 64), true), (String(repeating: "A", count: 64), false)],
        ]
        for (pattern, cases) in samples {
            let regex = try Regex(pattern.regex)
            for (text, expected) in cases {
                XCTAssertEqual(pattern.matches(text), expected, "\(pattern) native on \(text)")
                XCTAssertEqual(text.firstMatch(of: regex) != nil, expected, "\(pattern) regex on \(text)")
            }
        }
    }

    func testCurrenciesAreISO4217WithRialsCountedWhole() {
        XCTAssertEqual(Currency.minorUnits["IRR"], 0)
        XCTAssertEqual(Currency.minorUnits["EUR"], 2)
        XCTAssertEqual(Currency.minorUnits["KWD"], 3)
        XCTAssertNil(Currency.minorUnits["TMN"], "the toman is not an ISO currency")
        XCTAssertNotNil(Schema.currency.validate("TMN"))
        XCTAssertNil(Schema.currency.validate("USD"))
    }
}
