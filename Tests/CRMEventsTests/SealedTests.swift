import CRMEvents
import XCTest

final class SealedTests: XCTestCase {
    func testSealedTextOpensOnlyWithItsOwnKeyAndUnaltered() throws {
        let key = DataKey.generate(owner: "customer-c1")
        let sealed = key.seal("خانم احمدی‌نژاد ☎️ 0912")
        XCTAssertTrue(Pattern.sealed.matches(sealed.text))
        XCTAssertFalse(sealed.text.contains("احمدی"))
        XCTAssertEqual(key.open(sealed), "خانم احمدی‌نژاد ☎️ 0912")
        XCTAssertNotEqual(key.seal("same").text, key.seal("same").text, "every seal uses a fresh nonce")
        XCTAssertNil(DataKey.generate(owner: "customer-c1").open(sealed), "another key cannot open it")
        XCTAssertNil(DataKey(owner: "customer-c2", bytes: key.bytes).open(sealed), "the owner is bound in: it cannot move to another file")
        var bytes = Array(sealed.text.utf8)
        bytes[10] = bytes[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertNil(key.open(Sealed(text: String(decoding: bytes, as: UTF8.self))), "an altered ciphertext is refused")
    }
}
