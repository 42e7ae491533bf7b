import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue

/// The manager's reports: sales, quote conversion, a day's work, dormant customers, receivables,
/// workload, targets and branches. Each reads the typed rows of crm-facts.
extension CRMQueries {
    /// Rows of a time-keyed fact table with times in [from, to).
    func facts<Row>(
        _ table: Table<Row>, from: Int64, to: Int64, _ txn: KeyValueTransaction
    ) throws -> [(at: Int64, row: Row)] {
        try txn.rows(table, from: Key.of(.time(from)), while: { KeyPart.time(in: $0, at: 0) < to })
            .map { (KeyPart.time(in: $0.key, at: 0), $0.row) }
    }

    /// Invoices that stand (not void) issued in [from, to).
    func standingSales(from: Int64, to: Int64, _ txn: KeyValueTransaction) throws -> [(at: Int64, row: SaleRow)] {
        try facts(CRMFacts.sales, from: from, to: to, txn).filter { !$0.row.void }
    }

    /// `report.sales`: invoices that stand issued in [from, to), counted and summed per group and
    /// currency; grouped by product, the lines' quantities and amounts.
    func sales(_ a: SalesArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        let groupBy = a.groupBy ?? ["month"]
        let periods = try Periods(a.calendar ?? "gregorian", timeZone: a.timeZone)
        return try read { txn in
            var groups: [[String]: (count: Int, quantity: Int64, amounts: Amounts)] = [:]
            for (at, sale) in try standingSales(from: from, to: to, txn) {
                func key(product: String?) -> [String] {
                    groupBy.map { dimension in
                        switch dimension {
                        case "month": periods.month(at)
                        case "year": String(periods.month(at).prefix(4))
                        case "agent": sale.agentId
                        case "branch": sale.branchId ?? "-"
                        case "source": sale.channel ?? "-"
                        case "campaign": sale.campaign ?? "-"
                        default: product ?? "-"
                        }
                    }
                }
                if groupBy.contains("product") {
                    for line in sale.lines {
                        let k = key(product: line.productId)
                        groups[k, default: (0, 0, Amounts())].count += 1
                        groups[k]!.quantity += line.quantity
                        groups[k]!.amounts.add(line.amount, sale.currency)
                    }
                } else {
                    let k = key(product: nil)
                    groups[k, default: (0, 0, Amounts())].count += 1
                    groups[k]!.amounts.add(sale.total, sale.currency)
                }
            }
            let rows: [JSON] = groups.keys.sorted { $0.lexicographicallyPrecedes($1) }.map { k in
                var key = JSONObject()
                for (dimension, value) in zip(groupBy, k) { key[dimension] = .string(value) }
                var row: JSONObject = [
                    "group": .object(key), "count": .int(Int64(groups[k]!.count)), "amount": groups[k]!.amounts.json,
                ]
                if groupBy.contains("product") { row["quantity"] = .int(groups[k]!.quantity) }
                return .object(row)
            }
            return .object([
                "from": CRMQueries.time(from), "to": CRMQueries.time(to), "calendar": .string(periods.calendarName),
                "groupBy": .array(groupBy.map(JSON.string)), "rows": .array(rows),
            ])
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
                firstQuote[quote.customerId] = min(firstQuote[quote.customerId] ?? at, at)
            }
            var converted = Set<String>()
            for (at, sale) in try standingSales(from: firstQuote.values.min() ?? to, to: Int64.max, txn) {
                if let quoted = firstQuote[sale.customerId], at >= quoted { converted.insert(sale.customerId) }
            }
            return .object([
                "from": CRMQueries.time(from), "to": CRMQueries.time(to),
                "quotedCustomers": .int(Int64(firstQuote.count)),
                "becameCustomers": .int(Int64(converted.count)),
                "percent": CRMQueries.share(converted.count, firstQuote.count),
                "customers": .array(
                    firstQuote.keys.sorted().map {
                        .object(["customerId": .string($0), "converted": .bool(converted.contains($0))])
                    }),
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
            let calls = interactions.filter { $0.row.kind == "call" }
            let orders = try standingSales(from: from, to: to, txn)
            var lastOrder: [String: Int64] = [:]
            for (at, sale) in orders { lastOrder[sale.customerId] = max(lastOrder[sale.customerId] ?? at, at) }
            let leading = calls.filter { call in lastOrder[call.row.customerId].map { $0 >= call.at } ?? false }
            let quotes = try facts(CRMFacts.quotes, from: from, to: to, txn)
            let deferrals = try facts(CRMFacts.deferrals, from: from, to: to, txn)
            var byKind = JSONObject()
            for kind in InteractionKind.allCases.map(\.rawValue) {
                let count = interactions.filter { $0.row.kind == kind }.count
                if count > 0 { byKind[kind] = .int(Int64(count)) }
            }
            var quoted = Amounts()
            for (_, quote) in quotes { quoted.add(quote.total, quote.currency) }
            return .object([
                "date": .string(a.date), "calendar": .string(periods.calendarName), "calls": .int(Int64(calls.count)),
                "callsLeadingToOrder": .int(Int64(leading.count)),
                "callOrderPercent": CRMQueries.share(leading.count, calls.count),
                "orders": .int(Int64(orders.count)), "quotes": .int(Int64(quotes.count)), "quotedAmount": quoted.json,
                "deferrals": .int(Int64(deferrals.count)), "interactions": .object(byKind),
            ])
        }
    }

    /// `report.dormant`: customers without a call, meeting, email or SMS for `days` days (or never),
    /// oldest first, with their last interaction and its outcome.
    func dormant(_ a: DormantArgs) throws -> JSON {
        let cutoff = now - a.days * CRMQueries.day
        return try read { txn in
            var rows: [(Int64, JSON)] = []
            for (_, customer) in try txn.rows(CRMFacts.customers) where !customer.forgotten {
                if let agent = a.agentId, customer.agentId != agent { continue }
                let contact = try CRMFacts.lastContact(customer.customerId, txn)
                let last = contact?.at
                guard (last ?? customer.registeredMicros) < cutoff else { continue }
                var entry = summary(customer)
                entry["lastContact"] = contact?.row.json ?? .null
                entry["daysSince"] = last.map { .int((now - $0) / CRMQueries.day) } ?? .null
                rows.append((last ?? Int64.min, .object(entry)))
            }
            return .object(["days": .int(a.days), "customers": .array(rows.sorted { $0.0 < $1.0 }.map(\.1))])
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
            for (_, sale) in try txn.rows(CRMFacts.sales) where !sale.void && sale.open > 0 {
                guard let due = sale.dueMicros, due <= until, mine.map({ $0.contains(sale.customerId) }) ?? true else {
                    continue
                }
                total.add(sale.open, sale.currency)
                // The customer's agent now: who is to collect, which is what "by agent" asks.
                let customer = try txn.row(CRMFacts.customers, Key.of(.text(sale.customerId)))
                rows.append(
                    .object([
                        "invoiceId": .string(sale.invoiceId), "customerId": .string(sale.customerId),
                        "name": customer.map(summary)?["name"] ?? .null,
                        "agentId": customer.map { .string($0.agentId) } ?? .null,
                        "dueAt": sale.dueAt.map(JSON.string) ?? .null, "open": .int(sale.open),
                        "currency": .string(sale.currency),
                        "overdue": .bool(due < now),
                    ]))
            }
            return .object([
                "until": CRMQueries.time(until), "agentId": a.agentId.map(JSON.string) ?? .null,
                "invoices": .array(rows), "total": total.json,
            ])
        }
    }

    /// `report.workload`: follow-ups still scheduled with a due time in [from, to), per agent and kind.
    func workload(_ a: PeriodArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        return try read { txn in
            var counts: [String: [String: Int64]] = [:]
            for (_, followup) in try txn.rows(CRMFacts.followups) where followup.status == "scheduled" {
                guard followup.dueMicros >= from, followup.dueMicros < to else { continue }
                counts[followup.agentId, default: [:]][followup.kind, default: 0] += 1
            }
            let agents: [JSON] = counts.keys.sorted().map { agent in
                var kinds = JSONObject()
                for kind in counts[agent]!.keys.sorted() { kinds[kind] = .int(counts[agent]![kind]!) }
                return .object([
                    "agentId": .string(agent), "total": .int(counts[agent]!.values.reduce(0, +)),
                    "byKind": .object(kinds),
                ])
            }
            return .object(["from": CRMQueries.time(from), "to": CRMQueries.time(to), "agents": .array(agents)])
        }
    }

    /// `report.targets`: each target of the period against the invoices that stand in it (same
    /// currency, same scope), as an amount and a percentage.
    func targets(_ a: TargetsArgs) throws -> JSON {
        try read { txn in
            var rows: [JSON] = []
            for (_, target) in try txn.rows(CRMFacts.targets) where target.period == a.period {
                if let wanted = a.calendar, wanted != target.calendar { continue }
                let (from, to) = try Periods(target.calendar).range(of: a.period)
                var actual: Int64 = 0
                for (_, sale) in try standingSales(from: from, to: to, txn)
                where sale.currency == target.amount.currency {
                    switch target.scope {
                    case "agent": if sale.agentId != target.scopeId { continue }
                    case "branch": if sale.branchId != target.scopeId { continue }
                    default: break
                    }
                    actual += sale.total
                }
                let goal = target.amount.amount
                var row = target.json
                row["actual"] = .object(["amount": .int(actual), "currency": .string(target.amount.currency)])
                row["percent"] = goal == 0 ? .null : .double((Double(actual) / Double(goal) * 1000).rounded() / 10)
                row["from"] = CRMQueries.time(from)
                row["to"] = CRMQueries.time(to)
                rows.append(.object(row))
            }
            return .object(["period": .string(a.period), "targets": .array(rows)])
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
            for (at, sale) in try facts(CRMFacts.sales, from: Int64.min, to: Int64.max, txn) where !sale.void {
                let branch = sale.branchId ?? "-"
                if at >= from, at < to {
                    sales[branch, default: (0, Amounts())].0 += 1
                    sales[branch]!.1.add(sale.total, sale.currency)
                }
                if let due = sale.dueMicros, due >= from, due < to, sale.open > 0 {
                    expected[branch, default: Amounts()].add(sale.open, sale.currency)
                }
            }
            var stalled: [String: [JSON]] = [:]
            for (_, deal) in try txn.rows(CRMFacts.deals) where deal.outcome == "open" && deal.lastMove < stalledBefore
            {
                stalled[deal.branchId ?? "-", default: []].append(
                    .object([
                        "dealId": .string(deal.dealId), "stage": .string(deal.stage),
                        "customerId": .string(deal.customerId),
                        "daysInStage": .int((now - deal.lastMove) / CRMQueries.day),
                    ]))
            }
            let known = try txn.rows(CRMFacts.branches).map(\.row)
            let ids = Set(known.map(\.branchId)).union(sales.keys).union(expected.keys).union(stalled.keys).sorted()
            let rows: [JSON] = ids.map { id in
                let branch = known.first { $0.branchId == id }
                return .object([
                    "branchId": .string(id), "name": branch.map { .string($0.name) } ?? .null,
                    "kind": branch.map { .string($0.kind) } ?? .null,
                    "region": branch.map { .string($0.region) } ?? .null,
                    "sales": .int(sales[id]?.0 ?? 0), "salesAmount": sales[id]?.1.json ?? .object([:]),
                    "stalledDeals": .array(stalled[id] ?? []), "expectedReceipts": expected[id]?.json ?? .object([:]),
                ])
            }
            return .object(["from": CRMQueries.time(from), "to": CRMQueries.time(to), "branches": .array(rows)])
        }
    }
}
