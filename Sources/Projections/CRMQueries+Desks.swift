import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue

/// `agent.agenda` and `agent.view`: an agent's desk.
extension CRMQueries {
    static let day: Int64 = 86_400_000_000

    /// The customer ids an agent serves now.
    func customers(of agentId: String, _ txn: KeyValueTransaction) throws -> [String] {
        var ids: [String] = []
        try txn.scan(CRMFacts.customersByAgent, prefix: Key.of(.text(agentId))) { key, _ in
            ids.append(String(decoding: key.dropFirst(agentId.utf8.count + 1).dropLast(), as: UTF8.self))
            return true
        }
        return ids
    }

    /// `agent.agenda`: follow-ups due by `to` (overdue ones flagged), deferred items, birthdays,
    /// support contracts expiring and quotes lapsing between `from` and `to` (default: the next 7 days).
    func agenda(_ a: AgendaArgs) throws -> JSON {
        let from = try a.from.map { try micros($0, "/from") } ?? now
        let to = try a.to.map { try micros($0, "/to") } ?? from + 7 * CRMQueries.day
        return try read { txn in
            let desk = Desk(agentId: a.agentId, mine: Set(try customers(of: a.agentId, txn)), queries: self, txn: txn)
            let followups = try desk.followups(dueBefore: to)
            let mine: (String) -> Bool = { desk.mine.contains($0) }
            let contracts = try txn.rows(
                CRMFacts.contracts, from: Key.of(.time(from - CRMQueries.day)),
                while: { KeyPart.time(in: $0, at: 0) < to }
            ).map(\.row).filter { mine($0.customerId) }
            return .object([
                "agentId": .string(a.agentId), "from": CRMQueries.time(from), "to": CRMQueries.time(to),
                "followups": .array(followups.map(JSON.object)),
                "overdue": .int(Int64(followups.filter { $0["overdue"] == true }.count)),
                "deferred": .array(followups.filter { ($0["deferrals"]?.intValue ?? 0) > 0 }.map(JSON.object)),
                "birthdays": .array(try desk.birthdays(from: from, to: to).map(JSON.object)),
                "expiringContracts": .array(
                    try contracts.map { row in .object(try desk.named(row.json, row.customerId)) }),
                "expiringQuotes": .array(try desk.quotes(expiringFrom: from, to: to).map(JSON.object)),
            ])
        }
    }

    /// `agent.view`: the agent's customers, their open deals, open quotes and invoices with money due.
    func agentView(_ a: AgentViewArgs) throws -> JSON {
        try read { txn in
            let ids = try customers(of: a.agentId, txn)
            let mine = Set(ids)
            let customerRows = try ids.compactMap { try txn.row(CRMFacts.customers, Key.of(.text($0))) }
            let deals = try txn.rows(CRMFacts.deals).map(\.row).filter {
                mine.contains($0.customerId) && $0.outcome == "open"
            }
            let quotes = try txn.rows(CRMFacts.quotes).map(\.row).filter { row in
                guard mine.contains(row.customerId) else { return false }
                guard let valid = row.validUntil.flatMap(Timestamp.init(rfc3339:)) else { return true }
                return valid.microsecondsSince1970 >= now
            }
            let invoices = try txn.rows(CRMFacts.sales).map(\.row).filter {
                mine.contains($0.customerId) && !$0.void && $0.open > 0
            }
            var due = Amounts()
            for invoice in invoices { due.add(invoice.open, invoice.currency) }
            return .object([
                "agentId": .string(a.agentId), "customers": .array(customerRows.map { .object(summary($0)) }),
                "openDeals": .array(deals.map(\.json)),
                "openQuotes": .array(quotes.map { .object($0.json) }),
                "paymentsDue": .array(
                    invoices.map { row in
                        .object([
                            "invoiceId": .string(row.invoiceId), "customerId": .string(row.customerId),
                            "dueAt": row.dueAt.map(JSON.string) ?? .null, "open": .int(row.open),
                            "currency": .string(row.currency),
                        ])
                    }),
                "totalDue": due.json,
            ])
        }
    }
}

/// One agent's desk inside one read transaction: their customers, and names opened once each.
private final class Desk {
    let agentId: String
    let mine: Set<String>
    let queries: CRMQueries
    let txn: KeyValueTransaction
    private var rows: [String: CustomerRow?] = [:]

    init(agentId: String, mine: Set<String>, queries: CRMQueries, txn: KeyValueTransaction) {
        self.agentId = agentId
        self.mine = mine
        self.queries = queries
        self.txn = txn
    }

    func customer(_ id: String) throws -> CustomerRow? {
        if let row = rows[id] { return row }
        let row = try txn.row(CRMFacts.customers, Key.of(.text(id)))
        rows[id] = row
        return row
    }

    /// The customer's name, opened; null for an erased or unknown customer.
    func name(_ id: String) throws -> JSON {
        guard let row = try customer(id), !row.forgotten else { return .null }
        return SealedValue.open(row.name, with: queries.key(id))
    }

    /// `object` with the customer's name added.
    func named(_ object: JSONObject, _ customerId: String) throws -> JSONObject {
        var entry = object
        entry["name"] = try name(customerId)
        return entry
    }

    /// The agent's follow-ups due before `to`, soonest first, overdue ones flagged.
    func followups(dueBefore to: Int64) throws -> [JSONObject] {
        var entries: [JSONObject] = []
        let now = queries.now
        try txn.scan(CRMFacts.followupsByAgent, prefix: Key.of(.text(agentId))) { key, _ in
            let due = KeyPart.time(in: key, at: agentId.utf8.count + 1)
            guard due < to else { return false }
            let id = String(decoding: key.dropFirst(agentId.utf8.count + 9).dropLast(), as: UTF8.self)
            guard let row = try txn.row(CRMFacts.followups, Key.of(.text(id))) else { return true }
            entries.append([
                "followupId": .string(id), "customerId": .string(row.customerId), "name": try name(row.customerId),
                "due": .string(row.due), "kind": .string(row.kind), "overdue": .bool(due < now),
                "deferrals": .int(row.deferrals),
            ])
            return true
        }
        return entries
    }

    /// The agent's customers whose birthday (month and day) falls in [from, to].
    func birthdays(from: Int64, to: Int64) throws -> [JSONObject] {
        let periods = try Periods("gregorian", timeZone: "UTC")
        let monthDays = stride(from: from, to: to, by: Int64.Stride(CRMQueries.day)).map {
            String(periods.day($0).dropFirst(5))
        }
        let days = Set(monthDays + [String(periods.day(to - 1).dropFirst(5))])
        var entries: [JSONObject] = []
        for id in mine.sorted() {
            guard let row = try customer(id), !row.forgotten,
                let birthday = SealedValue.open(row.birthday, with: queries.key(id)).stringValue, birthday.count == 10,
                days.contains(String(birthday.dropFirst(5)))
            else { continue }
            entries.append(["customerId": .string(id), "name": try name(id), "birthday": .string(birthday)])
        }
        return entries
    }

    /// Quotes lapsing in [from, to) given to the agent's customers or by the agent.
    func quotes(expiringFrom from: Int64, to: Int64) throws -> [JSONObject] {
        var entries: [JSONObject] = []
        try txn.scan(CRMFacts.quotesByExpiry, prefix: [], from: Key.of(.time(from))) { key, quoteKey in
            guard KeyPart.time(in: key, at: 0) < to else { return false }
            if let row = try txn.row(CRMFacts.quotes, quoteKey), mine.contains(row.customerId) || row.agentId == agentId
            {
                entries.append(try named(row.json, row.customerId))
            }
            return true
        }
        return entries
    }
}
