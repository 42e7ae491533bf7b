import EventStore
import XCTest

final class TimestampTests: XCTestCase {
    func testFormatsAndParsesRFC3339() {
        let t = Timestamp(rfc3339: "2026-03-03T09:15:00.123456Z")
        XCTAssertEqual(t?.rfc3339, "2026-03-03T09:15:00.123456Z")
        XCTAssertEqual(Timestamp(rfc3339: "2026-03-03T12:45:00+03:30"), Timestamp(rfc3339: "2026-03-03T09:15:00Z"))
        XCTAssertEqual(Timestamp(rfc3339: "2026-03-03"), Timestamp(rfc3339: "2026-03-03T00:00:00Z"))
        XCTAssertEqual(Timestamp(rfc3339: "2024-02-29T23:59:59.5Z")?.rfc3339, "2024-02-29T23:59:59.500000Z")
        XCTAssertEqual(Timestamp(microsecondsSince1970: 0).rfc3339, "1970-01-01T00:00:00.000000Z")
        XCTAssertEqual(Timestamp(microsecondsSince1970: -1).rfc3339, "1969-12-31T23:59:59.999999Z")
    }

    func testRejectsMalformedTimes() {
        for text in [
            "", "2026-13-01", "2026-02-30", "2026-03-03T25:00:00Z", "2026-03-03T09:15:00", "2026-03-03T09:15:00.Z",
            "۲۰۲۶-۰۳-۰۳", "2026-03-03T09:15:00Zjunk",
        ] {
            XCTAssertNil(Timestamp(rfc3339: text), text)
        }
    }

    func testAgreesWithFoundationOnRandomInstants() {
        var random = SystemRandomNumberGenerator()
        let formatter = ISO8601DateFormatter()
        for _ in 0..<500 {
            let micros =
                Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &random) / 1_000_000 * 1_000_000
            let t = Timestamp(microsecondsSince1970: micros)
            XCTAssertEqual(Timestamp(rfc3339: t.rfc3339), t)
            XCTAssertEqual(String(t.rfc3339.prefix(19)), String(formatter.string(from: t.date).prefix(19)))
            // Any microsecond, not only whole seconds: the six fractional digits round-trip.
            let exact = Timestamp(
                microsecondsSince1970: Int64.random(in: -2_000_000_000_000_000...4_000_000_000_000_000, using: &random))
            XCTAssertEqual(Timestamp(rfc3339: exact.rfc3339), exact, exact.rfc3339)
            XCTAssertEqual(exact.rfc3339.utf8.count, 27)
        }
    }
}
