import CRMEvents
import Foundation
import JSONKit
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
        XCTAssertNil(
            DataKey(owner: "customer-c2", bytes: key.bytes).open(sealed),
            "the owner is bound in: it cannot move to another file")
        var bytes = Array(sealed.text.utf8)
        bytes[10] = bytes[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        XCTAssertNil(key.open(Sealed(text: String(decoding: bytes, as: UTF8.self))), "an altered ciphertext is refused")
    }
}

final class InteractionDecodingTests: XCTestCase {
    func testTheFastDecoderReadsWhatJSONDecoderReads() throws {
        let full = Interaction(
            interactionId: "i1", customerId: "c1", agentId: "a1", at: "2026-03-03T09:30:00+03:30", direction: "inbound",
            durationSeconds: 240, outcome: "order", subject: Sealed(text: "v1.AAAA"), text: Sealed(text: "v1.BBBB"),
            address: Sealed(text: "v1.CCCC"), contactId: "ceo")
        let bare = Interaction(interactionId: "i2", customerId: "c1", agentId: "a1", at: "2026-03-03T09:30:00Z")
        for interaction in [full, bare] {
            let bytes = CRMEvent.interaction(.call, interaction).proposed(at: .now()).data
            XCTAssertEqual(
                try Interaction(payload: bytes), try JSONDecoder().decode(Interaction.self, from: Data(bytes)))
            XCTAssertEqual(try Interaction(payload: bytes), interaction)
        }
        XCTAssertThrowsError(
            try Interaction(payload: Array(#"{"customerId": "c1", "agentId": "a", "at": "x"}"#.utf8)),
            "interactionId is required")
        XCTAssertThrowsError(
            try Interaction(
                payload: Array(
                    #"{"interactionId": "i", "customerId": "c1", "agentId": "a", "at": "x", "durationSeconds": "long"}"#
                        .utf8)))
        XCTAssertThrowsError(try Interaction(payload: Array(#"["not an object"]"#.utf8)))
    }
}
