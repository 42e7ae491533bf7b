import CRMEvents
import XCTest

final class JSONTests: XCTestCase {
    func testParsesPersianEmojiAndEscapesExactly() throws {
        let value = try JSON.parse(#"{"name": "رضا\u200cزاده", "note": "😀 \ud83d\ude00", "n": -12, "big": 9007199254740993, "x": 1.5e3, "ok": true, "none": null}"#)
        XCTAssertEqual(value["name"], .string("رضا\u{200C}زاده"))
        XCTAssertEqual(value["note"], .string("😀 😀"))
        XCTAssertEqual(value["big"], .int(9_007_199_254_740_993), "integers never pass through Double")
        XCTAssertEqual(value["x"], .double(1500))
        XCTAssertEqual(value.objectValue?.keys, ["name", "note", "n", "big", "x", "ok", "none"], "member order is kept")
        XCTAssertEqual(try JSON.parse(value.serialized()), value, "serialising and parsing round-trips")
        XCTAssertEqual(JSON.string("a\"b\\c\n\u{01}").serialized(), #""a\"b\\c\n\u0001""#)
    }

    func testRefusesWhatIsNotStrictJSONSayingWhere() {
        let cases: [(String, String)] = [
            ("", "unexpected end of input"),
            ("{\"a\": 1,}", "expected a member name"),
            ("{\"a\": 1, \"a\": 2}", "duplicate member name \"a\""),
            ("[1 2]", "expected ',' or ']'"),
            ("01", "unexpected data after the JSON value"),
            ("\"\\ud800\"", "unpaired surrogate"),
            ("\"tab\there\"", "control character in string"),
            ("nul", "unexpected end of input"),
            ("{} x", "unexpected data after the JSON value"),
            ("1e999", "number out of range"),
        ]
        for (text, reason) in cases {
            XCTAssertThrowsError(try JSON.parse(text), text) { XCTAssertEqual(($0 as? JSONParseError)?.reason, reason, text) }
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xC3, 0x28, 0x22])) { XCTAssertEqual(($0 as? JSONParseError)?.reason, "invalid UTF-8") }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xED, 0xA0, 0x80, 0x22]), "UTF-8 encoded surrogates are refused")
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSON.parse(deep)) { XCTAssertEqual(($0 as? JSONParseError)?.reason, "nesting deeper than 64 levels") }
        XCTAssertNoThrow(try JSON.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    func testPrettyOutputIsStableAndParsesBack() throws {
        let value: JSON = .object(["b": .array([1, 2]), "a": .object(["c": .array([.object(["d": true])])])])
        let pretty = value.pretty()
        XCTAssertEqual(pretty, """
            {
              "b": [1,2],
              "a": {
                "c": [
                  {
                    "d": true
                  }
                ]
              }
            }
            """)
        XCTAssertEqual(try JSON.parse(pretty), value)
        XCTAssertEqual(value.serialized(sortedKeys: true), #"{"a":{"c":[{"d":true}]},"b":[1,2]}"#)
    }
}
