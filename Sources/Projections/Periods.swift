import Door
import EventStore
import Foundation

/// Calendar arithmetic for reports: months and years in the Gregorian or Persian (Solar Hijri)
/// calendar, in a given time zone (Iranian businesses count days in Asia/Tehran).
public struct Periods: Sendable {
    /// `gregorian` or `persian`.
    public let calendarName: String
    let calendar: Calendar

    /// A calendar by name (`gregorian` or `persian`) in time zone `zone` (an IANA name).
    public init(_ name: String = "gregorian", timeZone zone: String? = nil) throws(WireError) {
        let identifier: Calendar.Identifier
        switch name {
        case "gregorian": identifier = .gregorian
        case "persian": identifier = .persian
        default: throw WireError(.invalidArgs, "calendar must be gregorian or persian", path: "/calendar")
        }
        var calendar = Calendar(identifier: identifier)
        let zoneName = zone ?? (name == "persian" ? "Asia/Tehran" : "UTC")
        guard let timeZone = TimeZone(identifier: zoneName) else {
            throw WireError(.invalidArgs, "unknown time zone \(zoneName)", path: "/timeZone")
        }
        calendar.timeZone = timeZone
        calendar.locale = Locale(identifier: "en_US_POSIX")
        self.calendar = calendar
        self.calendarName = name
    }

    private func components(_ micros: Int64) -> DateComponents {
        calendar.dateComponents([.year, .month, .day], from: Date(timeIntervalSince1970: Double(micros) / 1e6))
    }

    /// `YYYY-MM` of the month holding `micros`.
    public func month(_ micros: Int64) -> String {
        let c = components(micros)
        return String(format: "%04d-%02d", c.year ?? 0, c.month ?? 0)
    }

    /// `YYYY-MM-DD` of the day holding `micros`.
    public func day(_ micros: Int64) -> String {
        let c = components(micros)
        return String(format: "%04d-%02d-%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
    }

    /// The first and past-the-last instant of a period `YYYY`, `YYYY-MM` or `YYYY-Qn` in this calendar.
    public func range(of period: String) throws(WireError) -> (from: Int64, to: Int64) {
        let parts = period.split(separator: "-")
        guard let year = Int(parts.first ?? "") else {
            throw WireError(.invalidArgs, "period \(period) is not YYYY, YYYY-MM or YYYY-Qn", path: "/period")
        }
        var startMonth = 1
        var months = 12
        if parts.count == 2 {
            if parts[1].hasPrefix("Q"), let quarter = Int(parts[1].dropFirst()), (1...4).contains(quarter) {
                startMonth = (quarter - 1) * 3 + 1
                months = 3
            } else if let month = Int(parts[1]), (1...12).contains(month) {
                startMonth = month
                months = 1
            } else {
                throw WireError(.invalidArgs, "period \(period) is not YYYY, YYYY-MM or YYYY-Qn", path: "/period")
            }
        }
        guard let start = calendar.date(from: DateComponents(year: year, month: startMonth, day: 1)),
            let end = calendar.date(byAdding: .month, value: months, to: start)
        else { throw WireError(.invalidArgs, "period \(period) is out of range", path: "/period") }
        return (Int64(start.timeIntervalSince1970 * 1e6), Int64(end.timeIntervalSince1970 * 1e6))
    }

    /// The first and past-the-last instant of the day `date` (`YYYY-MM-DD` in this calendar).
    public func range(ofDay date: String) throws(WireError) -> (from: Int64, to: Int64) {
        let parts = date.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3,
            let start = calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2])),
            let end = calendar.date(byAdding: .day, value: 1, to: start)
        else { throw WireError(.invalidArgs, "date \(date) is not YYYY-MM-DD", path: "/date") }
        return (Int64(start.timeIntervalSince1970 * 1e6), Int64(end.timeIntervalSince1970 * 1e6))
    }
}
