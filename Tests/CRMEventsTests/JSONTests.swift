import CRMEvents
import JSONKit
import XCTest

final class JSONTests: XCTestCase {
    func testParsesPersianEmojiAndEscapesExactly() throws {
        let value = try JSON.parse(
            #"{"name": "رضا\u200cزاده", "note": "😀 \ud83d\ude00", "n": -12, "big": 9007199254740993, "x": 1.5e3, "ok": true, "none": null}"#
        )
        XCTAssertEqual(value["name"], .string("رضا\u{200C}زاده"))
        XCTAssertEqual(value["note"], .string("😀 😀"))
        XCTAssertEqual(value["big"], .int(9_007_199_254_740_993), "integers never pass through Double")
        XCTAssertEqual(value["x"], .double(1500))
        XCTAssertEqual(
            value.objectValue?.keys, ["name", "note", "n", "big", "x", "ok", "none"], "member order is kept")
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
            XCTAssertThrowsError(try JSON.parse(text), text) {
                XCTAssertEqual(($0 as? JSONParseError)?.reason, reason, text)
            }
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xC3, 0x28, 0x22])) {
            XCTAssertEqual(($0 as? JSONParseError)?.reason, "invalid UTF-8")
        }
        XCTAssertThrowsError(try JSON.parse([0x22, 0xED, 0xA0, 0x80, 0x22]), "UTF-8 encoded surrogates are refused")
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        XCTAssertThrowsError(try JSON.parse(deep)) {
            XCTAssertEqual(($0 as? JSONParseError)?.reason, "nesting deeper than 64 levels")
        }
        XCTAssertNoThrow(try JSON.parse(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)))
    }

    func testPrettyOutputIsStableAndParsesBack() throws {
        let value: JSON = .object(["b": .array([1, 2]), "a": .object(["c": .array([.object(["d": true])])])])
        let pretty = value.pretty()
        XCTAssertEqual(
            pretty,
            """
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

    /// The parser reads a plain string in one step and falls back to a scalar-by-scalar reader
    /// for escapes and bad bytes; both must give the same values and the same error offsets.
    func testFastAndEscapedStringPathsAgree() throws {
        var generator = SplitMix(seed: 7)
        let alphabet: [String] = [
            "a", "Z", " ", "ی", "ي", "ک", "\u{200C}", "😀", "۱", "\"", "\\", "\n", "\u{01}", "/", "é",
        ]
        for _ in 0..<500 {
            let text = (0..<Int(generator.next() % 24)).map { _ in
                alphabet[Int(generator.next() % UInt64(alphabet.count))]
            }.joined()
            XCTAssertEqual(try JSON.parse(JSON.string(text).serialized()), .string(text), text)
            XCTAssertEqual(try JSON.parse(JSON.object(["k": .string(text)]).serialized())["k"], .string(text), text)
        }
        // A bad byte is reported where it stands, whether or not an escape came before it.
        for prefix in ["abc", "رضا", "a\\nb"] {
            let bytes = Array("\"\(prefix)".utf8) + [0xFF] + Array("tail\"".utf8)
            XCTAssertThrowsError(try JSON.parse(bytes)) { error in
                XCTAssertEqual((error as? JSONParseError)?.offset, bytes.firstIndex(of: 0xFF), prefix)
                XCTAssertEqual((error as? JSONParseError)?.reason, "invalid UTF-8", prefix)
            }
        }
    }

    func testIntegersOfEveryLengthAndDuplicatesInLargeObjects() throws {
        for text in [
            "0", "-0", "7", "-7", "999999999999999999", "-999999999999999999", "9223372036854775807",
            "-9223372036854775808", "1234567890123456789",
        ] {
            XCTAssertEqual(try JSON.parse(text), .int(Int64(text)!), text)
        }
        XCTAssertEqual(
            try JSON.parse("9223372036854775808"), .double(9_223_372_036_854_775_808), "beyond Int64 becomes a double")
        // Written as Swift prints them, for every length and both signs, and read back the same.
        var random = SplitMix(seed: 31)
        let samples: [Int64] =
            [0, 1, -1, 9, 10, -10, .max, .min, .max - 1, .min + 1]
            + (0..<500).map { _ in Int64(bitPattern: random.next()) >> (random.next() % 63) }
        for value in samples {
            XCTAssertEqual(String(decoding: JSON.int(value).bytes(), as: UTF8.self), String(value))
            XCTAssertEqual(try JSON.parse(JSON.int(value).bytes()), .int(value))
        }
        let members = (0..<40).map { "\"k\($0)\": \($0)" }
        XCTAssertEqual(try JSON.parse("{" + members.joined(separator: ",") + "}").objectValue?.keys.count, 40)
        for duplicate in [3, 20, 39] {
            XCTAssertThrowsError(
                try JSON.parse("{" + (members + ["\"k\(duplicate)\": 0"]).joined(separator: ",") + "}")
            ) {
                XCTAssertEqual(($0 as? JSONParseError)?.reason, "duplicate member name \"k\(duplicate)\"")
            }
        }
    }
}
