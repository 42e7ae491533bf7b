import Projections
import XCTest

final class PeriodsTests: XCTestCase {
    func micros(_ text: String) -> Int64 { Int64(ISO8601DateFormatter().date(from: text)!.timeIntervalSince1970 * 1e6) }

    func testNowruzSplitsEsfandFromFarvardin() throws {
        let persian = try Periods("persian")
        XCTAssertEqual(persian.month(micros("2026-03-19T12:00:00Z")), "1404-12")
        XCTAssertEqual(persian.month(micros("2026-03-21T12:00:00Z")), "1405-01")
        XCTAssertEqual(persian.day(micros("2026-03-21T12:00:00Z")), "1405-01-01")
        // Midnight in Tehran (UTC+03:30) comes before midnight UTC.
        XCTAssertEqual(persian.day(micros("2026-03-20T21:00:00Z")), "1405-01-01")
        let farvardin = try persian.range(of: "1405-01")
        XCTAssertEqual(farvardin.from, micros("2026-03-20T20:30:00Z"))
        XCTAssertEqual(
            farvardin.to, micros("2026-04-20T20:30:00Z"),
            "Farvardin has 31 days; Tehran keeps UTC+03:30 all year since 2022")
        XCTAssertEqual(try Periods("gregorian").month(micros("2026-03-19T12:00:00Z")), "2026-03")
        XCTAssertEqual(try Periods("gregorian").range(of: "2026-Q2").from, micros("2026-04-01T00:00:00Z"))
        XCTAssertThrowsError(try Periods("julian"))
        XCTAssertThrowsError(try Periods("gregorian").range(of: "2026-13"))
    }
}
