import EventStore
import Foundation

/// Dates and times as the pages write them, in Tehran: the Jalali (Solar Hijri) calendar with
/// Persian digits, or the Gregorian one. Done by arithmetic rather than DateFormatter, which cost
/// a customer file a seventh of its time (ICU formats every date afresh).
enum Clock {
    static let tehran = TimeZone(identifier: "Asia/Tehran")!

    /// Tehran's wall clock at `time`: days since 1970-01-01 and seconds into that day.
    static func local(_ time: Timestamp) -> (days: Int, seconds: Int) {
        let utc = Int(time.microsecondsSince1970.dividedRoundingDown(by: 1_000_000))
        let wall = utc + tehran.secondsFromGMT(for: time.date)
        let days = wall.dividedRoundingDown(by: 86_400)
        return (days, wall - days * 86_400)
    }

    /// The Gregorian date of a day counted from 1970-01-01.
    static func gregorian(days: Int) -> (year: Int, month: Int, day: Int) {
        let (year, month, day) = Timestamp.civil(fromDays: Int64(days))
        return (Int(year), Int(month), Int(day))
    }

    /// The Jalali date of a Gregorian one (the arithmetic 33-year cycle, as ICU's Persian calendar).
    static func jalali(_ gy: Int, _ gm: Int, _ gd: Int) -> (year: Int, month: Int, day: Int) {
        let monthStarts = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        let gy2 = gm > 2 ? gy + 1 : gy
        var days = 355_666 + 365 * gy + (gy2 + 3) / 4 - (gy2 + 99) / 100 + (gy2 + 399) / 400 + gd + monthStarts[gm - 1]
        var jy = -1595 + 33 * (days / 12_053)
        days %= 12_053
        jy += 4 * (days / 1461)
        days %= 1461
        if days > 365 {
            jy += (days - 1) / 365
            days = (days - 1) % 365
        }
        return days < 186 ? (jy, 1 + days / 31, 1 + days % 31) : (jy, 7 + (days - 186) / 30, 1 + (days - 186) % 30)
    }

    /// `1405/01/14 09:30` in Persian digits, or `2026-04-03 09:30`.
    static func time(_ time: Timestamp, _ language: Language) -> String {
        let (days, seconds) = local(time)
        let clock = "\(two(seconds / 3600)):\(two(seconds % 3600 / 60))"
        return day(days, language) + " " + (language == .fa ? Pages.persianDigits(clock) : clock)
    }

    /// `1405/01/14` in Persian digits, or `2026-04-03`.
    static func day(_ days: Int, _ language: Language) -> String {
        let g = gregorian(days: days)
        guard language == .fa else { return "\(g.year)-\(two(g.month))-\(two(g.day))" }
        let j = jalali(g.year, g.month, g.day)
        return Pages.persianDigits("\(j.year)/\(two(j.month))/\(two(j.day))")
    }

    private static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : String(n) }
}

extension BinaryInteger {
    /// Division rounding towards minus infinity (days before 1970 stay whole days).
    func dividedRoundingDown(by divisor: Self) -> Self {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
