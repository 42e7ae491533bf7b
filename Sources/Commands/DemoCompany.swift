import CRMEvents
import EventStore
import Foundation

/// A realistic synthetic company history, written through the real commands: branches, staff
/// and a catalogue, then day after day new customers (Persian names, Iranian phones), calls,
/// emails and SMS, quotes, deals through the pipeline, follow-ups deferred and done, invoices,
/// payments, the odd void, staff leaving and customers asking to be forgotten.
///
/// Seeded, so a history can be made again; the store's clock (`setClock`) is moved day by day so
/// recorded times span the simulated years. Used by `make bench` and `crmd demo`.
public struct DemoCompany: Sendable {
    /// The command service written through.
    public let service: CommandService
    /// Moves the store's clock; the generator calls it before each simulated day.
    public let setClock: @Sendable (Timestamp) -> Void
    /// The first simulated day.
    public var start = Timestamp(rfc3339: "2023-03-21T04:30:00Z")!
    /// Commands in flight at once (the group commit shares fsyncs between them).
    public var concurrency = 64
    /// Put before every generated id, so that a second run into the same log adds new entities.
    public var idPrefix = ""

    /// Writes through `service`, moving time with `setClock`.
    public init(service: CommandService, setClock: @escaping @Sendable (Timestamp) -> Void) {
        self.service = service
        self.setClock = setClock
    }

    static let firstNames = ["رضا", "مریم", "علی", "زهرا", "محمد", "فاطمه", "حسین", "سارا", "امیر", "نگار", "مهدی", "لیلا", "آرش", "نازنین", "کاوه", "شیرین"]
    static let lastNames = ["رضایی", "محمدی", "حسینی", "کریمی", "احمدی", "موسوی", "جعفری", "صادقی", "رحیمی", "نوری", "کاظمی", "قاسمی"]
    static let channels = ["instagram", "website", "referral", "exhibition", "phone", "telegram"]
    static let notes = ["قیمت را پرسید", "منتظر تأیید مدیر است", "پیش‌فاکتور خواست", "از کیفیت راضی بود", "تخفیف بیشتر می‌خواهد", "تماس بعدی هفته آینده"]

    /// Writes about `events` events (stops at the first day past it); returns how many commands were accepted.
    @discardableResult
    public func run(events target: Int, seed: UInt64 = 1405, progress: (@Sendable (Int) -> Void)? = nil) async throws -> Int {
        var rng = SplitMix(seed: seed)
        var accepted = 0
        var day = start
        func at(_ time: Timestamp, _ hour: Int64) -> String { Timestamp(microsecondsSince1970: time.microsecondsSince1970 + hour * 3_600_000_000).rfc3339 }
        setClock(day)
        // The company.
        // Branches before the staff who work in them: commands of one batch run concurrently.
        accepted += try await execute([
            ("branch.open", .object(["branchId": "tehran", "name": "دفتر مرکزی تهران", "region": "تهران", "kind": "branch"]), "admin"),
            ("branch.open", .object(["branchId": "shiraz", "name": "نمایندگی شیراز", "region": "فارس", "kind": "representative"]), "admin"),
            ("branch.open", .object(["branchId": "tabriz", "name": "نمایندگی تبریز", "region": "آذربایجان شرقی", "kind": "representative"]), "admin"),
        ])
        var setup: [(String, JSON, String)] = []
        for i in 0..<12 {
            setup.append(("agent.hire", .object(["agentId": .string("a\(i)"), "name": .string("\(Self.firstNames[i % 16]) \(Self.lastNames[i % 12])"),
                                                 "branchId": .string(["tehran", "shiraz", "tabriz"][i % 3])]), "admin"))
        }
        for i in 0..<20 {
            setup.append(("product.define", .object(["productId": .string("p\(i)"), "name": .string("کالای شماره \(i)"),
                                                     "unitPrice": .object(["amount": .int(Int64(1 + i) * 5_000_000), "currency": "IRR"])]), "admin"))
        }
        accepted += try await execute(setup)
        var agents = (0..<12).map { "a\($0)" }
        var nextAgent = 12
        var customers: [(id: String, agent: String)] = []
        var invoices: [(id: String, open: Int64)] = []
        var deals: [(id: String, stage: Int)] = []
        var followups: [String] = []
        var serial = 0
        func id(_ prefix: String) -> String { serial += 1; return "\(idPrefix)\(prefix)\(serial)" }
        while try service.store.head().position < target {
            setClock(day)
            var morning: [(String, JSON, String)] = []
            for _ in 0..<(4 + rng.int(6)) {
                let customer = id("c")
                let agent = agents[rng.int(agents.count)]
                let name = "\(Self.firstNames[rng.int(16)]) \(Self.lastNames[rng.int(12)])"
                morning.append(("customer.register", .object([
                    "customerId": .string(customer), "name": .string(name), "phones": .array([.string("+98 9\(10 + rng.int(30)) \(100 + rng.int(900)) \(1000 + rng.int(9000))")]),
                    "source": .object(["channel": .string(Self.channels[rng.int(6)])]), "agentId": .string(agent),
                    "birthday": .string(String(format: "19%02d-%02d-%02d", 60 + rng.int(40), 1 + rng.int(12), 1 + rng.int(28))),
                    "branchId": .string(["tehran", "shiraz", "tabriz"][rng.int(3)]), "tags": .array(rng.int(5) == 0 ? ["VIP"] : []),
                ]), agent))
                customers.append((customer, agent))
            }
            accepted += try await execute(morning)
            var daytime: [(String, JSON, String)] = []
            for _ in 0..<(150 + rng.int(100)) where !customers.isEmpty {
                let (customer, agent) = customers[customers.count - 1 - rng.int(min(customers.count, 400))]
                let roll = rng.int(100)
                let hour = Int64(5 + rng.int(9))
                switch roll {
                case 0..<30:
                    daytime.append(("call.log", .object(["customerId": .string(customer), "direction": .string(rng.int(2) == 0 ? "inbound" : "outbound"),
                                                         "at": .string(at(day, hour)), "durationSeconds": .int(Int64(30 + rng.int(900))),
                                                         "outcome": .string(["interested", "no_answer", "callback", "order", "not_interested"][rng.int(5)]),
                                                         "text": .string(Self.notes[rng.int(6)]), "agentId": .string(agent)]), agent))
                case 30..<40:
                    daytime.append(("email.log", .object(["customerId": .string(customer), "direction": "outbound", "subject": "پیش‌فاکتور",
                                                          "text": .string(Self.notes[rng.int(6)]), "at": .string(at(day, hour)), "agentId": .string(agent)]), agent))
                case 40..<48:
                    daytime.append(("sms.log", .object(["customerId": .string(customer), "direction": "outbound", "text": "یادآوری جلسه",
                                                        "at": .string(at(day, hour)), "agentId": .string(agent)]), agent))
                case 48..<58:
                    daytime.append(("quote.give", .object(["customerId": .string(customer), "channel": .string(["phone", "email", "in_person"][rng.int(3)]),
                                                           "lines": .array([.object(["productId": .string("p\(rng.int(20))"), "quantity": .int(Int64(1 + rng.int(10)))])]),
                                                           "validUntil": .string(at(day, 24 * 14)), "agentId": .string(agent)]), agent))
                case 58..<66:
                    let dealId = id("d")
                    deals.append((dealId, 0))
                    daytime.append(("deal.open", .object(["dealId": .string(dealId), "customerId": .string(customer), "agentId": .string(agent)]), agent))
                case 66..<76:
                    let followupId = id("f")
                    followups.append(followupId)
                    daytime.append(("followup.schedule", .object(["followupId": .string(followupId), "customerId": .string(customer), "agentId": .string(agent),
                                                                  "due": .string(at(day, 24 * Int64(1 + rng.int(10)))), "kind": .string(["call", "meeting", "quote", "payment"][rng.int(4)]),
                                                                  "note": .string(Self.notes[rng.int(6)])]), agent))
                case 76..<84:
                    let invoiceId = id("i")
                    let quantity = Int64(1 + rng.int(5))
                    let product = rng.int(20)
                    invoices.append((invoiceId, quantity * Int64(1 + product) * 5_000_000))
                    daytime.append(("invoice.issue", .object(["invoiceId": .string(invoiceId), "customerId": .string(customer), "agentId": .string(agent),
                                                              "lines": .array([.object(["productId": .string("p\(product)"), "quantity": .int(quantity)])]),
                                                              "dueAt": .string(at(day, 24 * 30))]), agent))
                default:
                    daytime.append(("note.add", .object(["customerId": .string(customer), "text": .string(Self.notes[rng.int(6)]), "agentId": .string(agent)]), agent))
                }
            }
            accepted += try await execute(daytime)
            var evening: [(String, JSON, String)] = []
            for _ in 0..<(20 + rng.int(20)) where !invoices.isEmpty {
                let index = invoices.count - 1 - rng.int(min(invoices.count, 300))
                let (invoiceId, open) = invoices[index]
                guard open > 0 else { continue }
                let amount = rng.int(3) == 0 ? open : max(1, open / Int64(2 + rng.int(3)))
                invoices[index].open -= amount
                evening.append(rng.int(40) == 0
                    ? ("invoice.void", .object(["invoiceId": .string(invoiceId), "reason": "صدور اشتباه"]), "admin")
                    : ("payment.record", .object(["invoiceId": .string(invoiceId), "amount": .int(amount), "method": .string(["cash", "transfer", "cheque"][rng.int(3)]),
                                                  "at": .string(at(day, 12))]), "admin"))
            }
            for _ in 0..<(15 + rng.int(15)) where !deals.isEmpty {
                let index = deals.count - 1 - rng.int(min(deals.count, 200))
                let (dealId, stage) = deals[index]
                guard stage < 3 else { continue }
                let roll = rng.int(10)
                if roll < 2 {
                    evening.append(("deal.lose", .object(["dealId": .string(dealId), "reason": .string(DealLost.reasons[rng.int(7)])]), "admin"))
                    deals[index].stage = 9
                } else if roll < 4 || stage == 2 {
                    evening.append(("deal.win", .object(["dealId": .string(dealId)]), "admin"))
                    deals[index].stage = 9
                } else {
                    deals[index].stage += 1
                    evening.append(("deal.move", .object(["dealId": .string(dealId), "stage": .string(["qualified", "proposal", "negotiation"][stage])]), "admin"))
                }
            }
            for _ in 0..<(15 + rng.int(15)) where !followups.isEmpty {
                let followupId = followups.remove(at: followups.count - 1 - rng.int(min(followups.count, 200)))
                switch rng.int(10) {
                case 0..<6: evening.append(("followup.complete", .object(["followupId": .string(followupId), "outcome": "done"]), "admin"))
                case 6..<9: evening.append(("followup.defer", .object(["followupId": .string(followupId), "to": .string(at(day, 24 * 20)), "reason": "مشتری در سفر است"]), "admin"))
                default: evening.append(("followup.cancel", .object(["followupId": .string(followupId)]), "admin"))
                }
            }
            if rng.int(200) == 0, agents.count > 4 {
                let leaving = agents.remove(at: rng.int(agents.count))
                let newcomer = "a\(nextAgent)"
                nextAgent += 1
                accepted += try await execute([("agent.hire", .object(["agentId": .string(newcomer), "name": "کارمند تازه"]), "admin")])
                agents.append(newcomer)
                let successor = agents[rng.int(agents.count)]
                evening.append(("agent.leave", .object(["agentId": .string(leaving), "successorId": .string(successor)]), "admin"))
                customers = customers.map { ($0.id, $0.agent == leaving ? successor : $0.agent) }
            }
            if rng.int(30) == 0, !customers.isEmpty {
                evening.append(("customer.forget", .object(["customerId": .string(customers.remove(at: rng.int(customers.count)).id)]), "admin"))
            }
            accepted += try await execute(evening)
            day = Timestamp(microsecondsSince1970: day.microsecondsSince1970 + 86_400_000_000)
            progress?(Int(try service.store.head().position))
        }
        return accepted
    }

    /// Runs commands `concurrency` at a time; refusals (a rule said no) are part of a real day.
    private func execute(_ commands: [(String, JSON, String)]) async throws -> Int {
        var accepted = 0
        var index = 0
        while index < commands.count {
            let slice = commands[index..<min(index + concurrency, commands.count)]
            index += slice.count
            accepted += try await withThrowingTaskGroup(of: Int.self) { group in
                for (op, args, principal) in slice {
                    group.addTask {
                        do {
                            _ = try await service.execute(op, args, context: CommandContext(actor: Actor(principal: principal)))
                            return 1
                        } catch let error as CommandError where [.ruleViolation, .notFound, .conflict].contains(error.code) {
                            if ProcessInfo.processInfo.environment["CRMD_DEMO_DEBUG"] != nil {
                                FileHandle.standardError.write(Data("refused \(op): \(error)\n".utf8))
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

/// SplitMix64: a small seeded generator, so demo histories and property tests can be made again.
public struct SplitMix: RandomNumberGenerator, Sendable {
    var state: UInt64
    /// Starts the sequence of `seed`.
    public init(seed: UInt64) { state = seed }
    /// The next 64 random bits.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// A number in 0..<bound.
    mutating func int(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}
