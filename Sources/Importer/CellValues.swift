import EventStore
import Foundation
import Projections

/// Reads the values people type into spreadsheets: digits in Persian, Arabic-Indic or Latin,
/// Jalali or Gregorian dates, amounts with any thousands separator, phone numbers as Excel
/// mangles them.
public struct CellValues: Sendable {
    /// The zone a date or a time without an offset is in (a business's own: Asia/Tehran).
    public let timeZone: TimeZone
    /// Rials per unit of the file's amounts: 1 for rials, 10 for tomans.
    public let rialsPerUnit: Int64

    /// Calendars made once: making one per cell cost more than reading the cell.
    let persianUTC: Calendar
    let gregorianUTC: Calendar
    let local: Calendar

    /// Reads values of a file whose times are in `timeZone` and amounts in rials or tomans.
    public init(timeZone: TimeZone, rialsPerUnit: Int64 = 1) {
        self.timeZone = timeZone
        self.rialsPerUnit = rialsPerUnit
        var persian = Calendar(identifier: .persian)
        persian.timeZone = TimeZone(identifier: "UTC")!
        persianUTC = persian
        var gregorian = Calendar(identifier: .gregorian)
        gregorian.timeZone = TimeZone(identifier: "UTC")!
        gregorianUTC = gregorian
        gregorian.timeZone = timeZone
        local = gregorian
    }

    /// `text` with every digit made Latin and the Arabic decimal separator a point.
    public static func latinDigits(_ text: String) -> String {
        String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    switch scalar.value {
                    case 0x06F0...0x06F9: Unicode.Scalar(scalar.value - 0x06F0 + 0x30)!
                    case 0x0660...0x0669: Unicode.Scalar(scalar.value - 0x0660 + 0x30)!
                    case 0x066B: "."
                    default: scalar
                    }
                }))
    }

    /// The cell trimmed of spaces and bidi marks, nil when nothing is left.
    public static func trimmed(_ text: String) -> String? {
        // Most cells have nothing to trim; the check is cheaper than Foundation's trimming.
        guard let first = text.unicodeScalars.first, let last = text.unicodeScalars.last else { return nil }
        if !blank.contains(first), !blank.contains(last) { return text }
        let result = text.trimmingCharacters(in: blank)
        return result.isEmpty ? nil : result
    }

    /// Spaces, line ends and the invisible marks spreadsheets leave around values.
    static let blank = CharacterSet.whitespacesAndNewlines.union(CharacterSet(charactersIn: "\u{200E}\u{200F}\u{FEFF}"))

    // MARK: Dates

    /// A calendar day read from a cell: Gregorian or Jalali (a year before 1700 is Jalali),
    /// `Y-M-D` or `Y/M/D` (or `D/M/Y` with a four-digit year last), any digits; with a time
    /// of day when the cell has one.
    public struct Day: Equatable, Sendable {
        /// The Gregorian date.
        public var year: Int, month: Int, day: Int
        /// Hours, minutes and seconds when given.
        public var time: (hour: Int, minute: Int, second: Int)?

        /// `YYYY-MM-DD`.
        public var iso: String { String(format: "%04d-%02d-%02d", year, month, day) }

        public static func == (lhs: Day, rhs: Day) -> Bool {
            lhs.iso == rhs.iso && lhs.time?.hour == rhs.time?.hour && lhs.time?.minute == rhs.time?.minute
                && lhs.time?.second == rhs.time?.second
        }
    }

    /// The day a cell names, or nil when it names none.
    public func day(_ text: String) -> Day? {
        let latin = CellValues.latinDigits(text).trimmingCharacters(in: .whitespaces)
        // Date and time may be separated by T or spaces; the time may carry an offset, which
        // a business time keeps (an RFC 3339 time is taken as it is by `instant`).
        let parts = latin.split(whereSeparator: { $0 == " " || $0 == "T" || $0 == "t" }).map(String.init)
        guard let datePart = parts.first else { return nil }
        let numbers = datePart.split(whereSeparator: { $0 == "/" || $0 == "-" || $0 == "." }).map { Int($0) }
        guard numbers.count == 3, let a = numbers[0], let b = numbers[1], let c = numbers[2] else { return nil }
        var (year, month, day) = (a, b, c)
        if a <= 31, c >= 1000 { (year, month, day) = (c, b, a) }
        guard year >= 1000 else { return nil }
        var time: (Int, Int, Int)?
        if parts.count > 1 {
            let clock = parts[1].prefix { $0.isNumber || $0 == ":" }.split(separator: ":").map { Int($0) }
            guard clock.count >= 2, clock.count <= 3, let h = clock[0], let m = clock[1], h < 24, m < 60 else {
                return nil
            }
            let s = clock.count == 3 ? clock[2] ?? 0 : 0
            time = (h, m, s)
        }
        if year < 1700 {
            // Jalali: convert through Foundation's Persian calendar at noon, far from any edge.
            let persian = persianUTC
            guard (1...12).contains(month), (1...31).contains(day),
                let date = persian.date(from: DateComponents(year: year, month: month, day: day, hour: 12)),
                persian.component(.day, from: date) == day
            else { return nil }
            let g = gregorianUTC.dateComponents([.year, .month, .day], from: date)
            return Day(year: g.year!, month: g.month!, day: g.day!, time: time)
        }
        guard (1...12).contains(month), (1...CellValues.daysIn(month, year)).contains(day) else { return nil }
        return Day(year: year, month: month, day: day, time: time)
    }

    static func daysIn(_ month: Int, _ year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// The business time a cell names, RFC 3339: an RFC 3339 time as it is; a day with a time
    /// of day in the file's zone; a bare day at noon in the file's zone (the same day in
    /// Tehran and in UTC), or now when that noon is still ahead.
    public func instant(_ text: String, now: Date = Date()) -> String? {
        let latin = CellValues.latinDigits(text).trimmingCharacters(in: .whitespaces)
        if latin.count > 10, let exact = Timestamp(rfc3339: latin) { return exact.rfc3339 }
        guard let day = day(latin) else { return nil }
        let calendar = local
        let (hour, minute, second) = day.time ?? (12, 0, 0)
        guard
            let date = calendar.date(
                from: DateComponents(
                    year: day.year, month: day.month, day: day.day, hour: hour, minute: minute, second: second))
        else { return nil }
        if day.time == nil, date > now, calendar.isDate(date, inSameDayAs: now) { return CellValues.rfc3339(now) }
        return CellValues.rfc3339(date)
    }

    static func rfc3339(_ date: Date) -> String { Timestamp(date).rfc3339 }

    // MARK: Amounts

    /// An amount in rials: Latin, Persian or Arabic-Indic digits, any thousands separator
    /// (`,` `٬` `،` `'` spaces), an optional unit word (ریال / rial, تومان / toman) that wins
    /// over the file's unit; a fraction only if it is zero.
    public func rials(_ text: String) -> Int64? {
        var latin = CellValues.latinDigits(text).lowercased()
        var perUnit = rialsPerUnit
        for (word, rials) in [("تومان", Int64(10)), ("toman", 10), ("ریال", 1), ("ريال", 1), ("rials", 1), ("rial", 1), ("irr", 1)]
        where latin.contains(word) {
            latin = latin.replacingOccurrences(of: word, with: "")
            perUnit = rials
        }
        return CellValues.amount(latin, perUnit: perUnit)
    }

    /// The digits of `latin` (separators skipped, a zero fraction allowed) times `perUnit`.
    static func amount(_ latin: String, perUnit: Int64) -> Int64? {
        var digits = ""
        var fraction = ""
        var inFraction = false
        for character in latin {
            switch character {
            case "0"..."9": if inFraction { fraction.append(character) } else { digits.append(character) }
            case ",", "٬", "،", "'", " ", "\u{00A0}", "\u{202F}", "_": continue
            case ".": guard !inFraction else { return nil }; inFraction = true
            default: return nil
            }
        }
        guard !digits.isEmpty, fraction.allSatisfy({ $0 == "0" }), let value = Int64(digits) else { return nil }
        let (rials, overflow) = value.multipliedReportingOverflow(by: perUnit)
        return overflow ? nil : rials
    }

    /// A whole quantity (any digits, thousands separators), nil when it is not one.
    public func quantity(_ text: String) -> Int64? {
        CellValues.amount(CellValues.latinDigits(text).lowercased(), perUnit: 1)
    }

    // MARK: Contacts

    /// The phone numbers of a cell (several may be separated by `;`, `,`, `/`, `|` or lines),
    /// written as the log keeps them: Latin digits, an Iranian number with its leading zero
    /// (Excel drops it: `9123456789` is `09123456789`), a foreign one with `+`. Nil when a
    /// part is not a phone number.
    public static func phones(_ text: String) -> [String]? {
        let parts = text.split(whereSeparator: { ";,/|\n\r،".contains($0) })
        var phones: [String] = []
        for part in parts {
            guard let phone = phone(String(part)) else { return nil }
            phones.append(phone)
        }
        return phones
    }

    /// One phone number in the log's form, or nil.
    public static func phone(_ text: String) -> String? {
        let latin = latinDigits(text).trimmingCharacters(in: .whitespaces)
        guard latin.allSatisfy({ $0.isNumber || " -()+.".contains($0) }) else { return nil }
        var digits = latin.filter(\.isNumber)
        let international = latin.hasPrefix("+") || digits.hasPrefix("00")
        if digits.hasPrefix("00") { digits.removeFirst(2) }
        if international || (digits.hasPrefix("98") && digits.count == 12) {
            guard digits.hasPrefix("98") else { return digits.count >= 7 && digits.count <= 15 ? "+" + digits : nil }
            digits = "0" + digits.dropFirst(2)
        } else if digits.count == 10, digits.hasPrefix("9") {
            digits = "0" + digits
        }
        guard digits.count >= 7, digits.count <= 15 else { return nil }
        return digits
    }

    /// What two phone numbers are compared by (as search compares them): the last ten digits.
    public static func phoneKey(_ phone: String) -> String {
        String(SearchText.phoneDigits(phone).suffix(10))
    }

    /// An email address trimmed and lower-cased, or nil when it is not one.
    public static func email(_ text: String) -> String? {
        let email = text.trimmingCharacters(in: .whitespaces).lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
            !parts[1].hasSuffix("."), !email.contains(where: \.isWhitespace)
        else { return nil }
        return email
    }

    /// The words of a list cell (tags): split on `,` `،` `;` `|`, trimmed, empty ones dropped.
    public static func list(_ text: String) -> [String] {
        text.split(whereSeparator: { ",،;|".contains($0) }).compactMap { trimmed(String($0)) }
    }
}
