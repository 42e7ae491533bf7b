import EventStore
import Foundation
import XCTest

@testable import FrontDesk

/// The pages' own date arithmetic against ICU's calendars (Foundation's DateFormatter), which it
/// replaced for speed: every few hours from 1975 to 2045, across leap years, Nowruz and Iran's
/// old daylight-saving changes.
final class ClockTests: XCTestCase {
    static func formatter(_ calendar: Calendar.Identifier, _ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.calendar = Calendar(identifier: calendar)
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "Asia/Tehran")
        formatter.dateFormat = format
        return formatter
    }

    func testJalaliAndGregorianTimesAgreeWithICUFor70Years() {
        let persian = Self.formatter(.persian, "yyyy/MM/dd HH:mm")
        let gregorian = Self.formatter(.gregorian, "yyyy-MM-dd HH:mm")
        var checked = 0
        // 157,000 s: about 1.8 days, so the hour of day and the day both drift through every value.
        var seconds: Int64 = 157_766_400
        while seconds < 2_366_841_600 {
            let time = Timestamp(microsecondsSince1970: seconds * 1_000_000)
            XCTAssertEqual(Clock.time(time, .en), gregorian.string(from: time.date), "\(seconds)")
            XCTAssertEqual(Clock.time(time, .fa), Pages.persianDigits(persian.string(from: time.date)), "\(seconds)")
            seconds += 157_000
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10_000)
    }

    func testNowruzAndTheFirstMonthsBoundaries() {
        // 1405/01/01 began at midnight Tehran time on 21 March 2026.
        XCTAssertEqual(Clock.time(Timestamp(rfc3339: "2026-03-20T20:30:00Z")!, .fa), "۱۴۰۵/۰۱/۰۱ ۰۰:۰۰")
        XCTAssertEqual(Clock.time(Timestamp(rfc3339: "2026-03-20T20:29:00Z")!, .fa), "۱۴۰۴/۱۲/۲۹ ۲۳:۵۹")
        XCTAssertEqual(Pages.persianMonth(of: "2019-12-01"), "1398-09")
        XCTAssertEqual(Pages.monthName("1398-09", .fa), "آذر ۱۳۹۸")
        XCTAssertEqual(Pages.day("2026-03-21", .fa), "۱۴۰۵/۰۱/۰۱")
        XCTAssertEqual(Clock.time(Timestamp(rfc3339: "1969-12-31T20:00:00Z")!, .en), "1969-12-31 23:30")
    }
}
