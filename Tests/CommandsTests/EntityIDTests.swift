import Commands
import XCTest

final class EntityIDTests: XCTestCase {
    func testAcceptsTheSpecAlphabetUpTo64Characters() throws {
        XCTAssertEqual(try EntityID("c42").rawValue, "c42")
        XCTAssertEqual(try EntityID("INV-2026.03_0001").rawValue, "INV-2026.03_0001")
        XCTAssertNoThrow(try EntityID(String(repeating: "a", count: 64)))
    }

    func testRefusesEmptyLongAndForeignCharactersSayingWhy() {
        XCTAssertThrowsError(try EntityID("")) { XCTAssertEqual($0 as? EntityID.Problem, .empty) }
        XCTAssertThrowsError(try EntityID(String(repeating: "a", count: 65))) {
            XCTAssertEqual($0 as? EntityID.Problem, .tooLong(length: 65))
        }
        XCTAssertThrowsError(try EntityID("مشتری۱")) {
            XCTAssertEqual($0 as? EntityID.Problem, .invalidCharacter("م", offset: 0))
        }
        XCTAssertThrowsError(try EntityID("a b")) {
            XCTAssertEqual($0 as? EntityID.Problem, .invalidCharacter(" ", offset: 1))
        }
    }

    func testStreamsRoundTripThroughTheirNames() throws {
        let id = try EntityID("c-42")
        let stream = AggregateKind.customer.stream(id)
        XCTAssertEqual(stream, "customer-c-42")
        let parsed = try XCTUnwrap(AggregateKind.parse(stream: stream))
        XCTAssertEqual(parsed.0, .customer)
        XCTAssertEqual(parsed.1, id)
        XCTAssertNil(AggregateKind.parse(stream: "selftest-1"))
    }

    func testGeneratedIDsAreValidAndDistinct() {
        let ids = (0..<100).map { _ in EntityID.generate(prefix: "c") }
        XCTAssertEqual(Set(ids).count, 100)
        XCTAssertTrue(ids.allSatisfy { $0.rawValue.hasPrefix("c-") })
    }
}
