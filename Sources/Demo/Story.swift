import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit

/// The demo's model of the company: what it has told the CRM so far, and the dice.
///
/// Commands of one part of a day run concurrently, so a part never holds two commands whose
/// order matters (a customer is registered in one part and worked on in a later one; a deal
/// takes at most one step a day).
struct Story {
    /// One command to send: op, arguments and the principal sending it.
    struct Command {
        var op: String
        var args: JSONObject
        var actor: String
    }

    struct Customer {
        var id: String
        var agent: String
        var organisation: Bool
        var contacts: [String] = []
    }

    struct Deal {
        var id: String
        var customer: Int
        var agent: String
        var stage = 0
        var product: String
        var quantity: Int64
        var unitPrice: Int64
        var proforma: String?
        var nextStep: Int
    }

    struct Invoice {
        var id: String
        var open: Int64
        var paid = false
        var nextPayment: Int
    }

    struct Followup {
        var id: String
        var agent: String
        var due: Int
    }

    static let persianFirst = [
        "رضا", "مریم", "علی", "زهرا", "محمد", "فاطمه", "حسین", "سارا", "امیر", "نگار", "مهدی", "لیلا", "آرش", "نازنین",
        "کاوه", "شیرین", "بهرام", "پریسا", "سیاوش", "ژیلا",
    ]
    static let persianLast = [
        "رضایی", "محمدی", "حسینی", "کریمی", "احمدی", "موسوی", "جعفری", "صادقی", "رحیمی", "نوری", "کاظمی", "قاسمی",
        "تهرانی", "شیرازی", "اصفهانی",
    ]
    static let englishFirst = ["Sara", "David", "Anna", "Omar", "Lena", "Mark", "Yuki", "Elif", "Hans", "Nora"]
    static let englishLast = ["Miller", "Chen", "Schmidt", "Khan", "Rossi", "Novak", "Yilmaz", "Berg", "Haddad", "Kim"]
    static let persianCompanies = [
        "بازرگانی آریا", "صنایع غذایی مهرگان", "پخش البرز", "فولاد سپاهان", "داروسازی زاگرس", "ساختمانی کوروش",
        "نساجی یزد", "فناوری پارس",
    ]
    static let englishCompanies = [
        "Caspian Trading Co.", "Pars Logistics Ltd", "Gulf Medical Supplies", "Anatolia Textiles", "Silk Road Foods",
    ]
    static let roles = ["مدیر خرید", "مدیرعامل", "کارشناس فنی", "Procurement Manager", "مدیر مالی"]
    static let channels = ["instagram", "website", "referral", "exhibition", "phone", "telegram"]
    static let notes = [
        "قیمت را پرسید", "منتظر تأیید مدیر است", "پیش‌فاکتور خواست", "از کیفیت راضی بود", "تخفیف بیشتر می‌خواهد",
        "تماس بعدی هفته آینده", "Asked for the English catalogue", "نمونه کالا خواست",
    ]
    static let competitors = ["صنایع رقیب", "Global Parts GmbH", "واردکننده چینی", "پخش سراسری"]
    static let branches = ["tehran", "shiraz", "tabriz"]

    let prefix: String
    let days: Int
    let start: Timestamp
    let persian: Calendar
    var dice: SplitMix
    /// New customers per working day on average.
    let arrivals: Double
    /// Customers still to arrive, and working days left for them: every asked-for customer arrives.
    var toArrive: Int
    var workingDaysLeft: Int
    var arrivalCarry = 0.0
    var serial = 0
    var agents: [(id: String, branch: String)] = []
    var nextAgent = 0
    var prices: [String: Int64] = [:]
    var products: [String] = []
    var customers: [Customer] = []
    var deals: [Deal] = []
    var invoices: [Invoice] = []
    var followups: [Followup] = []
    var lastMonth = 0

    init(seed: UInt64, idPrefix: String, customers: Int, years: Int, start: Timestamp) {
        dice = SplitMix(seed: seed)
        prefix = idPrefix
        days = max(1, years) * 365
        self.start = start
        var calendar = Calendar(identifier: .persian)
        calendar.timeZone = TimeZone(identifier: "Asia/Tehran")!
        persian = calendar
        toArrive = max(1, customers)
        let noon = Double(start.microsecondsSince1970) / 1e6 + 12 * 3600
        workingDaysLeft = (0..<days).count {
            calendar.component(.weekday, from: Date(timeIntervalSince1970: noon + Double($0) * 86_400)) != 6
        }
        arrivals = Double(toArrive) / Double(workingDaysLeft)
    }

    mutating func roll(_ bound: Int) -> Int { dice.int(bound) }
    mutating func chance(_ percent: Int) -> Bool { dice.int(1000) < percent * 10 }
    mutating func pick<T>(_ items: [T]) -> T { items[dice.int(items.count)] }
    mutating func id(_ kind: String) -> String { serial += 1; return "\(prefix)\(kind)\(serial)" }

    /// `hour` (Tehran time) of simulated day `day`.
    func time(day: Int, hour: Double) -> Timestamp {
        Timestamp(
            microsecondsSince1970: start.microsecondsSince1970 + Int64(day) * 86_400_000_000
                + Int64(hour * 3_600_000_000))
    }
    func at(_ day: Int, _ hour: Double) -> JSON { .string(time(day: day, hour: hour).rfc3339) }
    func date(_ day: Int) -> JSON {
        let parts = Calendar(identifier: .gregorian).dateComponents(
            in: persian.timeZone,
            from: Date(timeIntervalSince1970: Double(time(day: day, hour: 12).microsecondsSince1970) / 1e6))
        return .string(String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!))
    }
    func persianDay(_ day: Int) -> DateComponents {
        persian.dateComponents(
            [.year, .month, .day, .weekday],
            from: Date(timeIntervalSince1970: Double(time(day: day, hour: 12).microsecondsSince1970) / 1e6))
    }
    func isFriday(_ day: Int) -> Bool { persianDay(day).weekday == 6 }
    static func money(_ amount: Int64) -> JSON { .object(["amount": .int(amount), "currency": "IRR"]) }

    /// Branches first: staff of a later part work in them.
    mutating func founding() -> [Command] {
        [
            Command(
                op: "branch.open",
                args: ["branchId": "tehran", "name": "دفتر مرکزی تهران", "region": "تهران", "kind": "branch"],
                actor: "admin"),
            Command(
                op: "branch.open",
                args: ["branchId": "shiraz", "name": "نمایندگی شیراز", "region": "فارس", "kind": "representative"],
                actor: "admin"),
            Command(
                op: "branch.open",
                args: [
                    "branchId": "tabriz", "name": "نمایندگی تبریز", "region": "آذربایجان شرقی",
                    "kind": "representative",
                ], actor: "admin"),
        ]
    }

    /// A manager per branch, by fixed names: they draw nothing from the generator, so the rest
    /// of the story is what it was without them.
    static let managers = [("سارا کریمی", "tehran"), ("مهدی رستمی", "shiraz"), ("نرگس اکبری", "tabriz")]

    mutating func staffAndCatalogue() -> [Command] {
        var commands: [Command] = Self.managers.enumerated().map { index, manager in
            Command(
                op: "agent.hire",
                args: [
                    "agentId": .string("\(prefix)m\(index)"), "name": .string(manager.0), "role": "manager",
                    "branchId": .string(manager.1),
                ], actor: "admin")
        }
        for _ in 0..<12 { commands.append(hire()) }
        for _ in 0..<20 { commands.append(defineProduct()) }
        return commands
    }

    mutating func hire() -> Command {
        let id = "\(prefix)a\(nextAgent)"
        let branch = Self.branches[nextAgent % 3]
        nextAgent += 1
        agents.append((id, branch))
        let name =
            chance(85)
            ? "\(pick(Self.persianFirst)) \(pick(Self.persianLast))"
            : "\(pick(Self.englishFirst)) \(pick(Self.englishLast))"
        return Command(
            op: "agent.hire", args: ["agentId": .string(id), "name": .string(name), "branchId": .string(branch)],
            actor: "admin")
    }

    mutating func defineProduct() -> Command {
        let id = "\(prefix)p\(products.count + prices.count)"
        let price = Int64(2 + roll(60)) * 2_500_000
        prices[id] = price
        products.append(id)
        let names = [
            "دستگاه تصفیه آب", "پمپ صنعتی", "نرم‌افزار حسابداری", "قطعه یدکی", "سرویس نگهداری", "Industrial Sensor",
            "تابلو برق", "کمپرسور",
        ]
        return Command(
            op: "product.define",
            args: [
                "productId": .string(id), "name": .string("\(pick(names)) مدل \(products.count)"),
                "unitPrice": Self.money(price),
            ], actor: "admin")
    }

    /// One working day in four parts: arrivals, first contact, the day's work, the evening's books.
    /// The parts draw from the generator in a fixed order, so a seed always gives the same history.
    mutating func simulate(day: Int) -> [(Double, [Command])] {
        let today = persianDay(day)
        var morning = newMonth(day: day, today)
        var first: [Command] = []
        for (register, welcome) in arrivals(day: day, today) {
            morning.append(register)
            first += welcome
        }
        var work: [Command] = []
        // Deals take their next step when it is due.
        for index in deals.indices where deals[index].nextStep <= day && deals[index].stage < 4 {
            work += advance(deal: index, day: day)
        }
        deals.removeAll { $0.stage >= 4 }
        work += touches(day: day)
        work += dueFollowups(day: day)
        var evening = books(day: day)
        evening += upkeep(day: day)
        let (hired, late) = turnover()
        return [(8.5, morning), (9.5, first), (16.5, work), (17, evening + hired), (18, late)]
    }

    /// The first working day of a Persian month: this month's targets; a new season: new prices.
    private mutating func newMonth(day: Int, _ today: DateComponents) -> [Command] {
        guard today.month! != lastMonth else { return [] }
        lastMonth = today.month!
        var commands = targets(period: String(format: "%04d-%02d", today.year!, today.month!))
        if (today.month! - 1) % 3 == 0 && day > 0 { commands += reprice() }
        return commands
    }

    /// Today's new customers: each one's registration and first contact.
    private mutating func arrivals(day: Int, _ today: DateComponents) -> [(Command, [Command])] {
        arrivalCarry += Double(toArrive) / Double(workingDaysLeft) * Double(50 + roll(100)) / 100
        let arriving = workingDaysLeft == 1 ? toArrive : min(toArrive, Int(arrivalCarry))
        arrivalCarry -= Double(arriving)
        toArrive -= arriving
        workingDaysLeft -= 1
        return (0..<arriving).map { _ in
            let (register, index) = newCustomer(day: day, month: today.month!, year: today.year!)
            return (register, welcome(customer: index, day: day))
        }
    }

    /// Everyday contact with recent and older customers.
    private mutating func touches(day: Int) -> [Command] {
        let touches = Int(arrivals * 15) + roll(Int(arrivals * 6) + 2)
        var commands: [Command] = []
        for _ in 0..<touches where !customers.isEmpty {
            let index =
                chance(80)
                ? customers.count - 1 - roll(min(customers.count, Int(arrivals * 60) + 20)) : roll(customers.count)
            commands.append(touch(customer: index, day: day))
        }
        return commands
    }

    /// Follow-ups that fall due: most done, some deferred, a few cancelled.
    private mutating func dueFollowups(day: Int) -> [Command] {
        var commands: [Command] = []
        var stillOpen: [Followup] = []
        for followup in followups {
            guard followup.due <= day else { stillOpen.append(followup); continue }
            switch roll(10) {
            case 0..<6:
                commands.append(
                    Command(
                        op: "followup.complete",
                        args: [
                            "followupId": .string(followup.id), "agentId": .string(followup.agent),
                            "outcome": .string(pick(["done", "ordered", "no_answer"])),
                        ], actor: followup.agent))
            case 6..<9:
                let later = day + 3 + roll(14)
                stillOpen.append(Followup(id: followup.id, agent: followup.agent, due: later))
                let reasons = ["مشتری در سفر است", "منتظر بودجه سال بعد", "Customer asked to call after the holidays"]
                commands.append(
                    Command(
                        op: "followup.defer",
                        args: [
                            "followupId": .string(followup.id), "to": at(later, 10), "reason": .string(pick(reasons)),
                        ], actor: "admin"))
            default:
                commands.append(
                    Command(op: "followup.cancel", args: ["followupId": .string(followup.id)], actor: "admin"))
            }
        }
        followups = stillOpen
        return commands
    }

    /// The evening's books: payments in parts, the odd invoice voided.
    private mutating func books(day: Int) -> [Command] {
        var commands: [Command] = []
        var unpaid: [Invoice] = []
        for var invoice in invoices {
            guard invoice.nextPayment <= day else { unpaid.append(invoice); continue }
            if !invoice.paid && chance(4) {
                commands.append(
                    Command(
                        op: "invoice.void", args: ["invoiceId": .string(invoice.id), "reason": "صدور اشتباه"],
                        actor: "admin"))
                continue
            }
            let amount = chance(40) ? invoice.open : max(1, invoice.open / Int64(2 + roll(3)))
            invoice.open -= amount
            invoice.paid = true
            commands.append(
                Command(
                    op: "payment.record",
                    args: [
                        "invoiceId": .string(invoice.id), "amount": .int(amount),
                        "method": .string(pick(["cash", "transfer", "cheque"])),
                        "at": at(day, 16),
                    ], actor: "admin"))
            invoice.nextPayment = day + 7 + roll(30)
            if invoice.open > 0 { unpaid.append(invoice) }
        }
        invoices = unpaid
        return commands
    }

    /// Files kept up to date, and now and then a customer handed to another agent.
    private mutating func upkeep(day: Int) -> [Command] {
        var commands: [Command] = []
        if !customers.isEmpty {
            for _ in 0..<(roll(Int(arrivals / 2) + 2)) {
                commands.append(edit(customer: roll(customers.count), day: day))
            }
        }
        if chance(2), customers.count > 1 {
            let index = roll(customers.count)
            let agent = pick(agents).id
            if agent != customers[index].agent {
                customers[index].agent = agent
                commands.append(
                    Command(
                        op: "customer.assign",
                        args: [
                            "customerId": .string(customers[index].id), "agentId": .string(agent),
                        ], actor: "admin"))
            }
        }
        return commands
    }

    /// Staff turnover (about three a year: a hire in the evening, a departure after it) and
    /// requests to be forgotten.
    private mutating func turnover() -> (hired: [Command], late: [Command]) {
        var hired: [Command] = []
        var late: [Command] = []
        if roll(100) == 0, agents.count > 6 {
            hired.append(hire())
            let leaving = agents.remove(at: roll(agents.count - 1)).id
            let successor = pick(agents).id
            late.append(
                Command(
                    op: "agent.leave", args: ["agentId": .string(leaving), "successorId": .string(successor)],
                    actor: "admin"))
            for index in customers.indices where customers[index].agent == leaving {
                customers[index].agent = successor
            }
            for index in deals.indices where deals[index].agent == leaving { deals[index].agent = successor }
            for index in followups.indices where followups[index].agent == leaving {
                followups[index].agent = successor
            }
        }
        if roll(40) == 0, customers.count > 10 {
            let index = roll(customers.count - 5)
            let forgotten = customers.remove(at: index).id
            late.append(Command(op: "customer.forget", args: ["customerId": .string(forgotten)], actor: "admin"))
            deals.removeAll { $0.customer == index }
            for i in deals.indices where deals[i].customer > index { deals[i].customer -= 1 }
        }
        return (hired, late)
    }
}
