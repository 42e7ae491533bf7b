import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit

/// The story's sales: targets and prices, customers arriving, the funnel, everyday contact.
extension Story {
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
