import NIOCore
import XCTest

@testable import Shipper

/// The text COPY receives for a payload: PostgreSQL's escapes, and jsonb's one refusal (U+0000).
final class CopyRowsTests: XCTestCase {
    func testAnEscapedNULBecomesTheReplacementCharacterAndAnEscapedBackslashStays() {
        let json = Array(#"{"note":"a\u0000b","text":"\\u0000 is how it is written"}"#.utf8)
        let cleaned = CopyRows.withoutEscapedNUL(json).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(cleaned, #"{"note":"a\ufffdb","text":"\\u0000 is how it is written"}"#)
        XCTAssertNil(CopyRows.withoutEscapedNUL(Array(#"{"text":"سلام\\u0000"}"#.utf8)), "a backslash typed by the user")
    }

    func testTabsNewlinesAndBackslashesAreEscapedForCOPY() {
        var buffer = ByteBuffer()
        CopyRows.json(Array("{\"a\":\"x\\ty\"}\t\n\r".utf8), to: &buffer)
        XCTAssertEqual(String(buffer: buffer), #"{"a":"x\\ty"}\t\n\r"#)
    }
}
