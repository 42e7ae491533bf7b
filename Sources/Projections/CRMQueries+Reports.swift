import CRMEvents
import EventStore
import Foundation
import JSONKit

extension CRMQueries {
    /// Rows of a time-keyed fact table with times in [from, to).
    func facts(_ table: String, from: Int64, to: Int64, _ txn: KeyValueTransaction) throws -> [(at: Int64, row: JSONObject)] {
        try txn.rows(table, prefix: [], from: Key.of(.time(from)), while: { KeyPart.time(in: $0, at: 0) < to })
            .map { (KeyPart.time(in: $0.key, at: 0), $0.row) }
    }

    static func median(_ values: [Double]) -> JSON {
        guard !values.isEmpty else { return .null }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        let value = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return .double((value * 10).rounded() / 10)
    }

    static func share(_ part: Int, _ whole: Int) -> JSON {
        whole == 0 ? .null : .double((Double(part) / Double(whole) * 1000).rounded() / 10)
    }

    // MARK: Funnel

    /// `funnel.report`: per stage, deals that entered, left, were lost from it, the share that went
    /// on to a later stage, the median days spent in it; and the median days from open to won.
    func funnel(_ a: FunnelArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        return try read { txn in
            let pipelineId = a.pipelineId ?? "default"
            let stages = try txn.row(CRMFacts.pipelines, Key.of(.text(pipelineId)))?["stages"]?.arrayValue?.compactMap(\.stringValue)
                ?? defaultPipelineStages
            let order = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1, $0) })
            var entered: [String: Int] = [:], left: [String: Int] = [:], lost: [String: Int] = [:], advanced: [String: Int] = [:]
            var days: [String: [Double]] = [:]
            var toClose: [Double] = []
            var deals = 0
            for (_, deal) in try txn.rows(CRMFacts.deals) {
                guard deal.string("pipelineId") == pipelineId,
                      a.agentId.map({ $0 == deal.string("agentId") }) ?? true,
                      a.branchId.map({ $0 == deal.string("branchId") }) ?? true,
                      a.source.map({ $0 == deal.string("channel") }) ?? true else { continue }
                let history = (deal["history"]?.arrayValue ?? []).map { ($0["stage"]?.stringValue ?? "", $0["at"]?.intValue ?? 0) }
                var counted = false
                for (index, step) in history.enumerated() {
                    let (stage, at) = step
                    if at >= from, at < to {
                        entered[stage, default: 0] += 1
                        counted = true
                        if history[(index + 1)...].contains(where: { $0.0 != "lost" && ((order[$0.0] ?? -1) > (order[stage] ?? Int.max) || $0.0 == "won") }) {
                            advanced[stage, default: 0] += 1
                        }
                    }
                    guard index + 1 < history.count else { continue }
                    let (next, exit) = history[index + 1]
                    guard exit >= from, exit < to else { continue }
                    left[stage, default: 0] += 1
                    if next == "lost" { lost[stage, default: 0] += 1 }
                    days[stage, default: []].append(Double(exit - at) / Double(CRMQueries.day))
                }
                if counted { deals += 1 }
                if deal["outcome"] == "won", let closed = deal["closedMicros"]?.intValue, closed >= from, closed < to {
                    toClose.append(Double(closed - deal.int("openedMicros")) / Double(CRMQueries.day))
                }
            }
            let rows: [JSON] = stages.map { stage in
                .object([
                    "stage": .string(stage), "entered": .int(Int64(entered[stage] ?? 0)), "left": .int(Int64(left[stage] ?? 0)),
                    "lost": .int(Int64(lost[stage] ?? 0)),
                    "conversionToNext": ["won", "lost"].contains(stage) ? .null : CRMQueries.share(advanced[stage] ?? 0, entered[stage] ?? 0),
                    "medianDaysInStage": CRMQueries.median(days[stage] ?? []),
                ])
            }
            return .object([
                "pipelineId": .string(pipelineId), "from": CRMQueries.time(from), "to": CRMQueries.time(to), "deals": .int(Int64(deals)),
                "stages": .array(rows), "won": .int(Int64(toClose.count)), "medianDaysToClose": CRMQueries.median(toClose),
            ])
        }
    }

    // MARK: Sales

    /// `report.sales`: invoices that stand (not void) issued in [from, to), counted and summed per
    /// group and currency; grouped by product, the lines' quantities and amounts.
    func sales(_ a: SalesArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        let groupBy = a.groupBy ?? ["month"]
        let periods = try Periods(a.calendar ?? "gregorian", timeZone: a.timeZone)
        return try read { txn in
            var groups: [[String]: (count: Int, quantity: Int64, amounts: Amounts)] = [:]
            for (at, sale) in try facts(CRMFacts.sales, from: from, to: to, txn) where sale["void"] != true {
                let currency = sale.string("currency") ?? ""
                func key(product: String?) -> [String] {
                    groupBy.map { dimension in
                        switch dimension {
                        case "month": periods.month(at)
                        case "year": String(periods.month(at).prefix(4))
                        case "agent": sale.string("agentId") ?? "-"
                        case "branch": sale.string("branchId") ?? "-"
                        case "source": sale.string("channel") ?? "-"
                        case "campaign": sale.string("campaign") ?? "-"
                        default: product ?? "-"
                        }
                    }
                }
                if groupBy.contains("product") {
                    for line in sale["lines"]?.arrayValue ?? [] {
                        let k = key(product: line["productId"]?.stringValue)
                        groups[k, default: (0, 0, Amounts())].count += 1
                        groups[k]!.quantity += line["quantity"]?.intValue ?? 0
                        groups[k]!.amounts.add(line["amount"]?.intValue ?? 0, currency)
                    }
                } else {
                    let k = key(product: nil)
                    groups[k, default: (0, 0, Amounts())].count += 1
                    groups[k]!.amounts.add(sale.int("total"), currency)
                }
            }
            let rows: [JSON] = groups.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { k in
                var key = JSONObject()
                for (dimension, value) in zip(groupBy, k) { key[dimension] = .string(value) }
                var row: JSONObject = ["group": .object(key), "count": .int(Int64(groups[k]!.count)), "amount": groups[k]!.amounts.json]
                if groupBy.contains("product") { row["quantity"] = .int(groups[k]!.quantity) }
                return .object(row)
            }
            return .object(["from": CRMQueries.time(from), "to": CRMQueries.time(to), "calendar": .string(periods.calendarName),
                            "groupBy": .array(groupBy.map(JSON.string)), "rows": .array(rows)])
        }
    }

    /// `report.quotes`: of the customers quoted in [from, to), how many had an invoice that stands
    /// issued at or after their first quote in the period.
    func quoteConversion(_ a: PeriodArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        return try read { txn in
            var firstQuote: [String: Int64] = [:]
            for (at, quote) in try facts(CRMFacts.quotes, from: from, to: to, txn) {
                guard let customer = quote.string("customerId") else { continue }
                firstQuote[customer] = min(firstQuote[customer] ?? at, at)
            }
            var converted = Set<String>()
            let earliest = firstQuote.values.min() ?? to
            for (at, sale) in try facts(CRMFacts.sales, from: earliest, to: Int64.max, txn) where sale["void"] != true {
                if let customer = sale.string("customerId"), let quoted = firstQuote[customer], at >= quoted { converted.insert(customer) }
            }
            return .object([
                "from": CRMQueries.time(from), "to": CRMQueries.time(to), "quotedCustomers": .int(Int64(firstQuote.count)),
                "becameCustomers": .int(Int64(converted.count)), "percent": CRMQueries.share(converted.count, firstQuote.count),
                "customers": .array(firstQuote.keys.sorted().map { .object(["customerId": .string($0), "converted": .bool(converted.contains($0))]) }),
            ])
        }
    }

    /// `report.daily`: one day's calls, the share of calls whose customer ordered (an invoice that
    /// day at or after the call), orders, quotes given and follow-ups deferred.
    func daily(_ a: DailyArgs) throws -> JSON {
        let periods = try Periods(a.calendar ?? "gregorian", timeZone: a.timeZone)
        let (from, to) = try periods.range(ofDay: a.date)
        return try read { txn in
            let interactions = try facts(CRMFacts.interactions, from: from, to: to, txn)
            let calls = interactions.filter { $0.row["kind"] == "call" }
            let orders = try facts(CRMFacts.sales, from: from, to: to, txn).filter { $0.row["void"] != true }
            var firstOrder: [String: Int64] = [:]
            for (at, sale) in orders { if let c = sale.string("customerId") { firstOrder[c] = max(firstOrder[c] ?? at, at) } }
            let leading = calls.filter { call in firstOrder[call.row.string("customerId") ?? ""].map { $0 >= call.at } ?? false }
            let quotes = try facts(CRMFacts.quotes, from: from, to: to, txn)
            let deferrals = try facts(CRMFacts.deferrals, from: from, to: to, txn)
            var byKind = JSONObject()
            for kind in InteractionKind.allCases.map(\.rawValue) {
                let count = interactions.filter { $0.row.string("kind") == kind }.count
                if count > 0 { byKind[kind] = .int(Int64(count)) }
            }
            var quoted = Amounts()
            for (_, quote) in quotes { quoted.add(quote.int("total"), quote.string("currency") ?? "") }
            return .object([
                "date": .string(a.date), "calendar": .string(periods.calendarName), "calls": .int(Int64(calls.count)),
                "callsLeadingToOrder": .int(Int64(leading.count)), "callOrderPercent": CRMQueries.share(leading.count, calls.count),
                "orders": .int(Int64(orders.count)), "quotes": .int(Int64(quotes.count)), "quotedAmount": quoted.json,
                "deferrals": .int(Int64(deferrals.count)), "interactions": .object(byKind),
            ])
        }
    }

    /// `report.dormant`: customers without a call, meeting, email or SMS for `days` days (or never),
    /// oldest first, with their last interaction and its outcome.
    func dormant(_ a: DormantArgs) throws -> JSON {
        let days = a.days
        let cutoff = now - days * CRMQueries.day
        return try read { txn in
            var rows: [(Int64, JSON)] = []
            for (_, customer) in try txn.rows(CRMFacts.customers) where customer["forgotten"] != true {
                if let agent = a.agentId, customer.string("agentId") != agent { continue }
                let contact = try CRMFacts.lastContact(customer.string("customerId") ?? "", txn)
                let last = contact?.at
                guard (last ?? customer.int("registeredMicros")) < cutoff else { continue }
                var entry = summary(customer).objectValue!
                entry["lastContact"] = contact?.row ?? .null
                entry["daysSince"] = last.map { .int((now - $0) / CRMQueries.day) } ?? .null
                rows.append((last ?? Int64.min, .object(entry)))
            }
            return .object(["days": .int(days), "customers": .array(rows.sorted { $0.0 < $1.0 }.map(\.1))])
        }
    }

    /// `report.receivables`: open balances of invoices that stand, due by `until`, of one agent's
    /// customers (or everyone's), with totals per currency.
    func receivables(_ a: ReceivablesArgs) throws -> JSON {
        let until = try micros(a.until, "/until")
        return try read { txn in
            let mine = try a.agentId.map { Set(try customers(of: $0, txn)) }
            var total = Amounts()
            var rows: [JSON] = []
            for (_, sale) in try txn.rows(CRMFacts.sales) where sale["void"] != true {
                let open = sale.int("total") - sale.int("paid")
                guard open > 0, let due = sale["dueMicros"]?.intValue, due <= until,
                      let customer = sale.string("customerId"), mine.map({ $0.contains(customer) }) ?? true else { continue }
                total.add(open, sale.string("currency") ?? "")
                let name = try txn.row(CRMFacts.customers, Key.of(.text(customer))).map(summary)?["name"] ?? .null
                rows.append(.object([
                    "invoiceId": sale["invoiceId"] ?? .null, "customerId": .string(customer), "name": name, "dueAt": sale["dueAt"] ?? .null,
                    "open": .int(open), "currency": sale["currency"] ?? .null, "overdue": .bool(due < now),
                ]))
            }
            return .object(["until": CRMQueries.time(until), "agentId": a.agentId.map(JSON.string) ?? .null,
                            "invoices": .array(rows), "total": total.json])
        }
    }

    /// `report.workload`: follow-ups still scheduled with a due time in [from, to), per agent and kind.
    func workload(_ a: PeriodArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        return try read { txn in
            var counts: [String: [String: Int64]] = [:]
            for (_, followup) in try txn.rows(CRMFacts.followups) where followup["status"] == "scheduled" {
                let due = followup.int("dueMicros")
                guard due >= from, due < to else { continue }
                counts[followup.string("agentId") ?? "-", default: [:]][followup.string("kind") ?? "-", default: 0] += 1
            }
            let agents: [JSON] = counts.keys.sorted().map { agent in
                var kinds = JSONObject()
                for kind in counts[agent]!.keys.sorted() { kinds[kind] = .int(counts[agent]![kind]!) }
                return .object(["agentId": .string(agent), "total": .int(counts[agent]!.values.reduce(0, +)), "byKind": .object(kinds)])
            }
            return .object(["from": CRMQueries.time(from), "to": CRMQueries.time(to), "agents": .array(agents)])
        }
    }

    /// `report.targets`: each target of the period against the invoices that stand in it (same
    /// currency, same scope), as an amount and a percentage.
    func targets(_ a: TargetsArgs) throws -> JSON {
        let period = a.period
        return try read { txn in
            var rows: [JSON] = []
            for (_, target) in try txn.rows(CRMFacts.targets) where target.string("period") == period {
                let calendar = target.string("calendar") ?? "gregorian"
                if let wanted = a.calendar, wanted != calendar { continue }
                let (from, to) = try Periods(calendar).range(of: period)
                let currency = target["amount"]?["currency"]?.stringValue ?? ""
                let goal = target["amount"]?["amount"]?.intValue ?? 0
                var actual: Int64 = 0
                for (_, sale) in try facts(CRMFacts.sales, from: from, to: to, txn) where sale["void"] != true && sale.string("currency") == currency {
                    switch target.string("scope") {
                    case "agent": if sale.string("agentId") != target.string("scopeId") { continue }
                    case "branch": if sale.string("branchId") != target.string("scopeId") { continue }
                    default: break
                    }
                    actual += sale.int("total")
                }
                var row = target
                row["actual"] = .object(["amount": .int(actual), "currency": .string(currency)])
                row["percent"] = goal == 0 ? .null : .double((Double(actual) / Double(goal) * 1000).rounded() / 10)
                row["from"] = CRMQueries.time(from)
                row["to"] = CRMQueries.time(to)
                rows.append(.object(row))
            }
            return .object(["period": .string(period), "targets": .array(rows)])
        }
    }

    /// `report.branches`: per branch or representative, sales that stand in [from, to), deals
    /// stalled (no stage change for `stalledDays`, default 30) and receipts expected in the period.
    func branches(_ a: BranchesArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        let stalledBefore = now - (a.stalledDays ?? 30) * CRMQueries.day
        return try read { txn in
            var sales: [String: (Int64, Amounts)] = [:]
            var expected: [String: Amounts] = [:]
            var stalled: [String: [JSON]] = [:]
            for (at, sale) in try txn.rows(CRMFacts.sales).map({ (KeyPart.time(in: $0.key, at: 0), $0.row) }) where sale["void"] != true {
                let branch = sale.string("branchId") ?? "-"
                let currency = sale.string("currency") ?? ""
                if at >= from, at < to {
                    sales[branch, default: (0, Amounts())].0 += 1
                    sales[branch]!.1.add(sale.int("total"), currency)
                }
                if let due = sale["dueMicros"]?.intValue, due >= from, due < to, sale.int("total") > sale.int("paid") {
                    expected[branch, default: Amounts()].add(sale.int("total") - sale.int("paid"), currency)
                }
            }
            for (_, deal) in try txn.rows(CRMFacts.deals) where deal["outcome"] == "open" {
                let lastMove = deal["history"]?.arrayValue?.last?["at"]?.intValue ?? 0
                guard lastMove < stalledBefore else { continue }
                stalled[deal.string("branchId") ?? "-", default: []].append(.object([
                    "dealId": deal["dealId"] ?? .null, "stage": deal["stage"] ?? .null, "customerId": deal["customerId"] ?? .null,
                    "daysInStage": .int((now - lastMove) / CRMQueries.day),
                ]))
            }
            let known = try txn.rows(CRMFacts.branches).map(\.row)
            let ids = Set(known.compactMap { $0.string("branchId") }).union(sales.keys).union(expected.keys).union(stalled.keys).sorted()
            let rows: [JSON] = ids.map { id in
                let branch = known.first { $0.string("branchId") == id }
                return .object([
                    "branchId": .string(id), "name": branch?["name"] ?? .null, "kind": branch?["kind"] ?? .null, "region": branch?["region"] ?? .null,
                    "sales": .int(sales[id]?.0 ?? 0), "salesAmount": sales[id]?.1.json ?? .object([:]),
                    "stalledDeals": .array(stalled[id] ?? []), "expectedReceipts": expected[id]?.json ?? .object([:]),
                ])
            }
            return .object(["from": CRMQueries.time(from), "to": CRMQueries.time(to), "branches": .array(rows)])
        }
    }
}
