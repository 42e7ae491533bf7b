import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit

/// A realistic synthetic company history, written through the real commands.
///
/// Three branches and representatives with their staff and a catalogue; then, working day after
/// working day (Fridays off), new customers from several channels and campaigns, people and
/// organisations with Persian and English names; calls, meetings, emails and SMS; deals that walk
/// the pipeline at realistic funnel rates with quotes, pro-formas, negotiations and competitors'
/// offers; invoices based on the pro-forma at the negotiated price, paid in parts, the odd void;
/// support contracts after a sale; follow-ups done, deferred and cancelled; monthly targets in the
/// Persian calendar; seasonal repricing; agents who join and leave; customers asking to be forgotten.
///
/// Seeded, so a history can be made again; `setClock` moves the store's clock through the
/// simulated years so recorded times are those of the story. Used by `make bench` and `crmd demo`.
public struct DemoCompany: Sendable {
    /// The command service written through.
    public let service: CommandService
    /// Moves the store's clock; the generator calls it before each part of a simulated day.
    public let setClock: @Sendable (Timestamp) -> Void
    /// Midnight in Tehran of the first simulated day (default 1 Farvardin 1402, Nowruz).
    public var start = DemoCompany.defaultStart
    /// Midnight in Tehran on 1 Farvardin 1402 (Nowruz), where every demo history begins.
    public static let defaultStart = Timestamp(rfc3339: "2023-03-20T20:30:00Z")!
    /// Commands in flight at once (the group commit shares fsyncs between them).
    public var concurrency = 64
    /// Put before every generated id, so that a second run into the same log adds new entities.
    public var idPrefix = ""

    /// Writes through `service`, moving time with `setClock`.
    public init(service: CommandService, setClock: @escaping @Sendable (Timestamp) -> Void) {
        self.service = service
        self.setClock = setClock
    }

    /// Events one customer brings about on average over a history (measured on seeded runs), so
    /// that a history asked for by event count gets a sensible number of customers.
    public static let eventsPerCustomer = 26

    /// Writes about `events` events: `events / eventsPerCustomer` customers over three years,
    /// stopping at the first day past `events`. Returns how many commands were accepted.
    @discardableResult
    public func run(
        events target: Int, seed: UInt64 = 1405, progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Int {
        try await run(
            customers: max(30, target / Self.eventsPerCustomer), years: 3, eventLimit: target, seed: seed,
            progress: progress)
    }

    /// Writes the history of `customers` customers arriving over `years` years; stops early at
    /// the end of the first day on which the log holds `eventLimit` events. Returns how many
    /// commands were accepted (a refusal by a business rule is part of a real day, not an error).
    @discardableResult
    public func run(
        customers: Int, years: Int, eventLimit: Int? = nil, seed: UInt64 = 1405,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Int {
        var story = Story(seed: seed, idPrefix: idPrefix, customers: customers, years: years, start: start)
        var accepted = 0
        func run(_ commands: [Story.Command], at hour: Double, of day: Int) async throws {
            setClock(story.time(day: day, hour: hour))
            accepted += try await execute(commands)
        }
        try await run(story.founding(), at: 8, of: 0)
        try await run(story.staffAndCatalogue(), at: 8.5, of: 0)
        for day in 0..<story.days {
            guard !story.isFriday(day) else { continue }
            let parts = story.simulate(day: day)
            for (hour, commands) in parts where !commands.isEmpty {
                try await run(commands, at: hour, of: day)
            }
            let head = Int(try service.store.head().position)
            progress?(head)
            if let eventLimit, head >= eventLimit { break }
        }
        return accepted
    }

    /// Runs commands `concurrency` at a time; refusals (a rule said no) are part of a real day.
    private func execute(_ commands: [Story.Command]) async throws -> Int {
        var accepted = 0
        var index = 0
        while index < commands.count {
            let slice = commands[index..<min(index + concurrency, commands.count)]
            index += slice.count
            accepted += try await withThrowingTaskGroup(of: Int.self) { group in
                for command in slice {
                    group.addTask {
                        do {
                            _ = try await service.execute(
                                command.op, .object(command.args),
                                context: CommandContext(actor: Actor(principal: command.actor)))
                            return 1
                        } catch let error as WireError
                            where [.ruleViolation, .notFound, .conflict].contains(error.code)
                        {
                            if ProcessInfo.processInfo.environment["CRMD_DEMO_DEBUG"] != nil {
                                FileHandle.standardError.write(Data("refused \(command.op): \(error)\n".utf8))
                            }
                            return 0
                        }
                    }
                }
                return try await group.reduce(0, +)
            }
        }
        return accepted
    }
}

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

    mutating func staffAndCatalogue() -> [Command] {
        var commands: [Command] = []
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

    mutating func targets(period: String) -> [Command] {
        var commands: [Command] = []
        var perBranch: [String: Int64] = [:]
        for (agent, branch) in agents {
            // About what the funnel brings in: a won deal per ten arrivals, ~330M rials each, shared by the staff.
            let expected = arrivals * 26 * 0.09 * 330_000_000 / Double(agents.count)
            let amount = max(10_000_000, Int64(expected * Double(90 + roll(40)) / 100) / 10_000_000 * 10_000_000)
            perBranch[branch, default: 0] += amount
            commands.append(
                Command(
                    op: "target.set",
                    args: [
                        "period": .string(period), "calendar": "persian", "scope": "agent", "scopeId": .string(agent),
                        "amount": Self.money(amount),
                    ], actor: "admin"))
        }
        for (branch, amount) in perBranch.sorted(by: { $0.key < $1.key }) {
            commands.append(
                Command(
                    op: "target.set",
                    args: [
                        "period": .string(period), "calendar": "persian", "scope": "branch", "scopeId": .string(branch),
                        "amount": Self.money(amount),
                    ], actor: "admin"))
        }
        let company = perBranch.values.reduce(0, +)
        commands.append(
            Command(
                op: "target.set",
                args: [
                    "period": .string(period), "calendar": "persian", "scope": "company", "amount": Self.money(company),
                ], actor: "admin"))
        return commands
    }

    /// Prices follow inflation each season; now and then a product is added or one no open deal
    /// needs is retired.
    mutating func reprice() -> [Command] {
        var commands: [Command] = []
        for product in products where chance(60) {
            let raised = prices[product]! * Int64(108 + roll(18)) / 100 / 10_000 * 10_000
            prices[product] = raised
            commands.append(
                Command(
                    op: "product.reprice", args: ["productId": .string(product), "unitPrice": Self.money(raised)],
                    actor: "admin"))
        }
        if chance(50) { commands.append(defineProduct()) }
        if chance(30), products.count > 10 {
            let inUse = Set(deals.map(\.product))
            if let index = products.indices.first(where: { !inUse.contains(products[$0]) && roll(3) == 0 }) {
                commands.append(
                    Command(
                        op: "product.retire", args: ["productId": .string(products.remove(at: index))], actor: "admin"))
            }
        }
        return commands
    }

    mutating func newCustomer(day: Int, month: Int, year: Int) -> (Command, Int) {
        let id = id("c")
        let agent = pick(agents)
        let organisation = chance(20)
        let english = chance(20)
        let name: String
        if organisation {
            name = english ? pick(Self.englishCompanies) : "شرکت \(pick(Self.persianCompanies))"
        } else {
            name =
                english
                ? "\(pick(Self.englishFirst)) \(pick(Self.englishLast))"
                : "\(pick(Self.persianFirst)) \(pick(Self.persianLast))"
        }
        let channel = pick(Self.channels)
        var source: JSONObject = ["channel": .string(channel)]
        switch (channel, month) {
        case ("exhibition", _): source["campaign"] = .string("iran-expo-\(year)")
        case (_, 1): source["campaign"] = .string("nowruz-\(year)")
        case (_, 9), (_, 10): source["campaign"] = .string("yalda-\(year)")
        case ("instagram", _) where chance(50): source["campaign"] = .string("instagram-ads-\(year)")
        default: break
        }
        if channel == "referral", !customers.isEmpty { source["referrer"] = .string(pick(customers).id) }
        var args: JSONObject = [
            "customerId": .string(id), "kind": .string(organisation ? "organisation" : "person"), "name": .string(name),
            "phones": .array([
                .string(
                    organisation
                        ? "+98 21 \(8000_0000 + roll(1000_0000))"
                        : "+98 9\(10 + roll(30)) \(100 + roll(900)) \(1000 + roll(9000))")
            ]),
            "source": .object(source), "agentId": .string(agent.id), "branchId": .string(agent.branch),
            "tags": .array(chance(15) ? ["VIP"] : []),
        ]
        if !organisation {
            args["birthday"] = .string(String(format: "19%02d-%02d-%02d", 60 + roll(40), 1 + roll(12), 1 + roll(28)))
        }
        if english || chance(40) { args["emails"] = .array([.string("\(id)@example.com")]) }
        if chance(30) {
            args["address"] = .string(
                pick(["تهران، خیابان ولیعصر", "شیراز، بلوار زند", "تبریز، خیابان امام", "Kish Island, Free Zone"]))
        }
        customers.append(Customer(id: id, agent: agent.id, organisation: organisation))
        return (Command(op: "customer.register", args: args, actor: agent.id), customers.count - 1)
    }

    /// A new customer's first day: contacts of an organisation, the first conversation, and for
    /// about half of them a deal in the funnel or a follow-up.
    mutating func welcome(customer index: Int, day: Int) -> [Command] {
        var commands: [Command] = []
        let customer = customers[index]
        if customer.organisation {
            for _ in 0..<(1 + roll(2)) {
                let contact = id("k")
                customers[index].contacts.append(contact)
                commands.append(
                    Command(
                        op: "customer.contact.add",
                        args: [
                            "customerId": .string(customer.id), "contactId": .string(contact),
                            "name": .string("\(pick(Self.persianFirst)) \(pick(Self.persianLast))"),
                            "role": .string(pick(Self.roles)),
                        ], actor: customer.agent))
            }
        }
        commands.append(
            Command(
                op: "call.log",
                args: [
                    "customerId": .string(customer.id), "direction": "inbound", "at": at(day, 9),
                    "durationSeconds": .int(Int64(60 + roll(600))),
                    "outcome": "interested", "text": .string(pick(Self.notes)), "agentId": .string(customer.agent),
                ], actor: customer.agent))
        if chance(45) {
            let product = pick(products)
            let quantity = Int64(1 + roll(8))
            let deal = Deal(
                id: id("d"), customer: index, agent: customer.agent, product: product, quantity: quantity,
                unitPrice: prices[product]!, nextStep: day + 1 + roll(7))
            deals.append(deal)
            commands.append(
                Command(
                    op: "deal.open",
                    args: [
                        "dealId": .string(deal.id), "customerId": .string(customer.id),
                        "agentId": .string(customer.agent),
                        "title": .string("خرید \(quantity) عدد"), "value": Self.money(quantity * deal.unitPrice),
                        "expectedCloseAt": at(day + 45, 12),
                    ], actor: customer.agent))
        } else if chance(50) {
            commands.append(schedule(customer: customer, day: day, in: 2 + roll(10)))
        }
        return commands
    }

    mutating func schedule(customer: Customer, day: Int, in days: Int) -> Command {
        let followup = Followup(id: id("f"), agent: customer.agent, due: day + days)
        followups.append(followup)
        return Command(
            op: "followup.schedule",
            args: [
                "followupId": .string(followup.id), "customerId": .string(customer.id),
                "agentId": .string(customer.agent),
                "due": at(followup.due, 10), "kind": .string(pick(["call", "meeting", "quote", "payment"])),
                "note": .string(pick(Self.notes)),
            ], actor: customer.agent)
    }

    /// One step down the funnel: about 65% of leads qualify, 70% of those get a proposal, 70%
    /// of proposals are negotiated and 65% of negotiations are won — roughly one lead in five.
    mutating func advance(deal index: Int, day: Int) -> [Command] {
        var deal = deals[index]
        let customer = customers[deal.customer]
        let who = deal.agent
        var commands: [Command] = []
        let odds = [65, 70, 70, 65][deal.stage]
        if !chance(odds) {
            let reasons = [
                ["no_need", "no_response", "no_budget"], ["no_budget", "timing", "no_response"],
                ["price", "competitor", "timing"], ["price", "competitor", "other"],
            ][deal.stage]
            commands.append(
                Command(
                    op: "deal.lose", args: ["dealId": .string(deal.id), "reason": .string(pick(reasons))], actor: who))
            deal.stage = 5
            deals[index] = deal
            return commands
        }
        switch deal.stage {
        case 0: commands += qualify(deal, customer: customer, day: day)
        case 1: commands += propose(&deal, customer: customer, day: day)
        case 2: commands += negotiate(&deal, customer: customer, day: day)
        default: commands += close(deal, customer: customer, day: day)
        }
        deal.stage += 1
        deal.nextStep = day + 2 + roll(12)
        deals[index] = deal
        return commands
    }

    /// A lead qualified after a call.
    private mutating func qualify(_ deal: Deal, customer: Customer, day: Int) -> [Command] {
        let who = deal.agent
        var commands: [Command] = []
        commands.append(
            Command(
                op: "call.log",
                args: [
                    "customerId": .string(customer.id), "direction": "outbound", "at": at(day, 10),
                    "durationSeconds": .int(Int64(120 + roll(900))),
                    "outcome": "interested", "text": "نیاز مشتری بررسی شد", "agentId": .string(who),
                ], actor: who))
        commands.append(
            Command(op: "deal.move", args: ["dealId": .string(deal.id), "stage": "qualified"], actor: who))
        return commands
    }

    /// A proposal: a quote, often a pro-forma, sometimes a meeting.
    private mutating func propose(_ deal: inout Deal, customer: Customer, day: Int) -> [Command] {
        let who = deal.agent
        var commands: [Command] = []
        let line: JSON = .array([.object(["productId": .string(deal.product), "quantity": .int(deal.quantity)])])
        commands.append(
            Command(
                op: "quote.give",
                args: [
                    "customerId": .string(customer.id), "agentId": .string(who),
                    "channel": .string(pick(["phone", "email", "in_person"])),
                    "lines": line, "validUntil": at(day + 14, 23),
                ], actor: who))
        if chance(60) {
            deal.proforma = id("pf")
            commands.append(
                Command(
                    op: "proforma.issue",
                    args: [
                        "proformaId": .string(deal.proforma!), "customerId": .string(customer.id),
                        "agentId": .string(who),
                        "lines": line, "dueAt": at(day + 10, 12),
                    ], actor: who))
        }
        if chance(40) {
            var meeting: JSONObject = [
                "customerId": .string(customer.id), "direction": "outbound", "at": at(day, 10),
                "durationSeconds": .int(Int64(1800 + roll(3600))),
                "outcome": "proposal_presented", "subject": "ارائه پیشنهاد", "agentId": .string(who),
            ]
            if let contact = customer.contacts.first { meeting["contactId"] = .string(contact) }
            commands.append(Command(op: "meeting.log", args: meeting, actor: who))
        }
        commands.append(
            Command(op: "deal.move", args: ["dealId": .string(deal.id), "stage": "proposal"], actor: who))
        return commands
    }

    /// A negotiation on price, sometimes against a competitor.
    private mutating func negotiate(_ deal: inout Deal, customer: Customer, day: Int) -> [Command] {
        let who = deal.agent
        var commands: [Command] = []
        deal.unitPrice = deal.unitPrice * Int64(85 + roll(16)) / 100 / 10_000 * 10_000
        commands.append(
            Command(
                op: "negotiation.log",
                args: [
                    "customerId": .string(customer.id), "agentId": .string(who), "at": at(day, 10),
                    "subject": "قیمت و شرایط پرداخت",
                    "outcome": .string(pick(["discount_agreed", "terms_agreed", "pending"])),
                    "text": .string("توافق روی \(deal.unitPrice) ریال برای هر واحد"),
                ], actor: who))
        if chance(30) {
            commands.append(
                Command(
                    op: "customer.competitor.note",
                    args: [
                        "customerId": .string(customer.id), "competitor": .string(pick(Self.competitors)),
                        "offer": "قیمت پایین‌تر با تحویل دیرتر",
                        "price": Self.money(deal.unitPrice * Int64(90 + roll(10)) / 100),
                    ], actor: who))
        }
        commands.append(
            Command(op: "deal.move", args: ["dealId": .string(deal.id), "stage": "negotiation"], actor: who))
        return commands
    }

    /// A deal won: the invoice, perhaps a support contract and a follow-up.
    private mutating func close(_ deal: Deal, customer: Customer, day: Int) -> [Command] {
        let who = deal.agent
        var commands: [Command] = []
        commands.append(Command(op: "deal.win", args: ["dealId": .string(deal.id)], actor: who))
        let invoice = Invoice(id: id("i"), open: deal.quantity * deal.unitPrice, nextPayment: day + 3 + roll(20))
        var args: JSONObject = [
            "invoiceId": .string(invoice.id), "customerId": .string(customer.id), "agentId": .string(who),
            "dueAt": at(day + 30, 12),
            "lines": .array([
                .object([
                    "productId": .string(deal.product), "quantity": .int(deal.quantity),
                    "unitPrice": Self.money(deal.unitPrice),
                ])
            ]),
        ]
        if let proforma = deal.proforma { args["basedOn"] = .string(proforma) }
        commands.append(Command(op: "invoice.issue", args: args, actor: who))
        invoices.append(invoice)
        if chance(25) {
            commands.append(
                Command(
                    op: "contract.support",
                    args: [
                        "customerId": .string(customer.id), "productId": .string(deal.product),
                        "startsOn": date(day), "expiresOn": date(day + 365), "note": "پشتیبانی یک‌ساله",
                    ], actor: who))
        }
        if chance(50) { commands.append(schedule(customer: customer, day: day, in: 20 + roll(40))) }
        return commands
    }

    /// An everyday contact: mostly calls, then emails, SMS, notes, the odd quote or follow-up.
    mutating func touch(customer index: Int, day: Int) -> Command {
        let customer = customers[index]
        let who = customer.agent
        let hour = Double(9 + roll(8))
        let base: JSONObject = ["customerId": .string(customer.id), "agentId": .string(who), "at": at(day, hour)]
        func with(_ extra: JSONObject) -> JSONObject {
            var args = base
            for member in extra.members { args[member.key] = member.value }
            return args
        }
        switch roll(100) {
        case 0..<40:
            return Command(
                op: "call.log",
                args: with([
                    "direction": .string(chance(50) ? "inbound" : "outbound"),
                    "durationSeconds": .int(Int64(30 + roll(900))),
                    "outcome": .string(pick(["interested", "no_answer", "callback", "order", "not_interested"])),
                    "text": .string(pick(Self.notes)),
                ]), actor: who)
        case 40..<55:
            return Command(
                op: "email.log",
                args: with([
                    "direction": .string(chance(70) ? "outbound" : "inbound"),
                    "subject": .string(pick(["پیش‌فاکتور", "کاتالوگ محصولات", "Price list"])),
                    "text": .string(pick(Self.notes)),
                ]), actor: who)
        case 55..<70:
            return Command(
                op: "sms.log",
                args: with([
                    "direction": "outbound",
                    "text": .string(pick(["یادآوری جلسه", "تبریک تولد", "پیشنهاد ویژه نوروز"])),
                ]), actor: who)
        case 70..<78:
            return Command(
                op: "meeting.log",
                args: with([
                    "direction": "outbound", "durationSeconds": .int(Int64(1800 + roll(3600))),
                    "subject": "بازدید حضوری",
                    "outcome": .string(pick(["good", "follow_up_needed"])),
                ]), actor: who)
        case 78..<85:
            let product = pick(products)
            return Command(
                op: "quote.give",
                args: [
                    "customerId": .string(customer.id), "agentId": .string(who),
                    "channel": .string(pick(["phone", "email", "in_person"])),
                    "lines": .array([.object(["productId": .string(product), "quantity": .int(Int64(1 + roll(10)))])]),
                    "validUntil": at(day + 7 + roll(21), 23),
                ], actor: who)
        case 85..<93:
            return schedule(customer: customer, day: day, in: 1 + roll(14))
        default:
            return Command(
                op: "note.add",
                args: ["customerId": .string(customer.id), "text": .string(pick(Self.notes)), "agentId": .string(who)],
                actor: who)
        }
    }

    /// A file kept up to date: a new mobile number, an email, the VIP tag, an address.
    mutating func edit(customer index: Int, day: Int) -> Command {
        let customer = customers[index]
        var args: JSONObject = ["customerId": .string(customer.id)]
        switch roll(4) {
        case 0: args["phones"] = .array([.string("+98 9\(10 + roll(30)) \(100 + roll(900)) \(1000 + roll(9000))")])
        case 1: args["emails"] = .array([.string("\(customer.id).\(day)@example.com")])
        case 2:
            args["tags"] = .array(
                Array(Set([pick(["VIP", "wholesale", "loyal", "export"]), "VIP"].prefix(1 + roll(2)))).sorted().map(
                    JSON.string))
        default: args["address"] = .string(pick(["اصفهان، خیابان چهارباغ", "مشهد، بلوار وکیل‌آباد", "کرج، گوهردشت"]))
        }
        return Command(op: "customer.edit", args: args, actor: customer.agent)
    }
}
