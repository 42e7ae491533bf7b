import Crypto
@testable import Projections
import XCTest

final class SearchTokenTests: XCTestCase {
    /// Tokens are computed with a hand-rolled HMAC for speed; they must stay exactly RFC 2104
    /// HMAC-SHA256, or every search index built before would stop matching.
    func testTokensAreHMACSHA256UnderTheSearchKey() {
        for keyLength in [32, 64, 100] {
            let key = (0..<keyLength).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let index = SearchIndex(key: key)
            let cases: [(SearchIndex.Field, String, String)] = [
                (.name, "رضا", "word"), (.text, "پیش‌فاکتور", "word"), (.phones, "9121234567", "phone"),
                (.emails, "reza@example.ir", "email"), (.name, "", "word"),
            ]
            for (field, value, kind) in cases {
                let expected = HMAC<SHA256>.authenticationCode(
                    for: Array("\(kind)\u{0}\(value)".utf8), using: SymmetricKey(data: key))
                XCTAssertEqual(
                    index.token(field, bytes: Array(value.utf8)), Array(Array(expected).prefix(16)),
                    "\(keyLength)-byte key, \(field) \(value)")
            }
            XCTAssertNotEqual(
                index.token(.name, bytes: [0x61]), index.token(.phones, bytes: [0x61]),
                "the field kind is part of the token")
        }
    }
}
