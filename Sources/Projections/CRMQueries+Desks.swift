import CRMEvents
import EventStore
import Foundation
import JSONKit

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
        let agentId = a.agentId
        let from = try a.from.map { try micros($0, "/from") } ?? now
        let to = try a.to.map { try micros($0, "/to") } ?? from + 7 * CRMQueries.day
        return try read { txn in
            let mine = Set(try customers(of: agentId, txn))
            var customerRows: [String: JSONObject] = [:]
            func customer(_ id: String) throws -> JSONObject? {
                if let row = customerRows[id] { return row }
                let row = try txn.row(CRMFacts.customers, Key.of(.text(id)))
                customerRows[id] = row
                return row
            }
            func name(_ id: String) throws -> JSON {
                guard let row = try customer(id), row["forgotten"] != true else { return .null }
                return PersonalValue.open(row["name"], with: key(id))
            }
            var followups: [JSON] = []
            var deferred: [JSON] = []
            try txn.scan(CRMFacts.followupsByAgent, prefix: Key.of(.text(agentId))) { key, _ in
                let due = KeyPart.time(in: key, at: agentId.utf8.count + 1)
                guard due < to else { return false }
                let id = String(decoding: key.dropFirst(agentId.utf8.count + 9).dropLast(), as: UTF8.self)
                guard let row = try txn.row(CRMFacts.followups, Key.of(.text(id))) else { return true }
                let customerId = row.string("customerId") ?? ""
                let entry: JSON = .object([
                    "followupId": .string(id), "customerId": .string(customerId), "name": try name(customerId), "due": row["due"] ?? .null,
                    "kind": row["kind"] ?? .null, "overdue": .bool(due < now), "deferrals": row["deferrals"] ?? 0,
                ])
                followups.append(entry)
                if row.int("deferrals") > 0 { deferred.append(entry) }
                return true
            }
            let periods = try Periods("gregorian", timeZone: "UTC")
            let days = Set(stride(from: from, to: to, by: Int64.Stride(CRMQueries.day)).map { String(periods.day($0).dropFirst(5)) } + [String(periods.day(to - 1).dropFirst(5))])
            var birthdays: [JSON] = []
            for id in mine.sorted() {
                guard let row = try customer(id), row["forgotten"] != true,
                      let birthday = PersonalValue.open(row["birthday"], with: key(id)).stringValue, birthday.count == 10,
                      days.contains(String(birthday.dropFirst(5))) else { continue }
                birthdays.append(.object(["customerId": .string(id), "name": try name(id), "birthday": .string(birthday)]))
            }
            var contracts: [JSON] = []
            for (_, row) in try txn.rows(CRMFacts.contracts, prefix: [], from: Key.of(.time(from - CRMQueries.day)), while: { KeyPart.time(in: $0, at: 0) < to }) {
                guard let customerId = row.string("customerId"), mine.contains(customerId) else { continue }
                var entry = row
                entry["name"] = try name(customerId)
                contracts.append(.object(entry))
            }
            var quotes: [JSON] = []
            try txn.scan(CRMFacts.quotesByExpiry, prefix: [], from: Key.of(.time(from))) { key, quoteKey in
                guard KeyPart.time(in: key, at: 0) < to else { return false }
                if let row = try txn.row(CRMFacts.quotes, quoteKey), let customerId = row.string("customerId"),
                   mine.contains(customerId) || row.string("agentId") == agentId {
                    var entry = row
                    entry["name"] = try name(customerId)
                    quotes.append(.object(entry))
                }
                return true
            }
            return .object([
                "agentId": .string(agentId), "from": CRMQueries.time(from), "to": CRMQueries.time(to),
                "followups": .array(followups), "overdue": .int(Int64(followups.filter { $0["overdue"] == true }.count)),
                "deferred": .array(deferred), "birthdays": .array(birthdays), "expiringContracts": .array(contracts),
                "expiringQuotes": .array(quotes),
            ])
        }
    }

    /// `agent.view`: the agent's customers, their open deals, open quotes and invoices with money due.
    func agentView(_ a: AgentViewArgs) throws -> JSON {
        let agentId = a.agentId
        return try read { txn in
            let ids = try customers(of: agentId, txn)
            let mine = Set(ids)
            let customerRows = try ids.compactMap { try txn.row(CRMFacts.customers, Key.of(.text($0))) }
            let deals = try txn.rows(CRMFacts.deals).map(\.row).filter { mine.contains($0.string("customerId") ?? "") && $0["outcome"] == "open" }
            let quotes = try txn.rows(CRMFacts.quotes).map(\.row).filter { row in
                guard mine.contains(row.string("customerId") ?? "") else { return false }
                guard let valid = row.string("validUntil").flatMap(Timestamp.init(rfc3339:)) else { return true }
                return valid.microsecondsSince1970 >= now
            }
            var due = Amounts()
            let invoices = try txn.rows(CRMFacts.sales).map(\.row).filter { row in
                mine.contains(row.string("customerId") ?? "") && row["void"] != true && row.int("total") > row.int("paid")
            }
            for invoice in invoices { due.add(invoice.int("total") - invoice.int("paid"), invoice.string("currency") ?? "") }
            return .object([
                "agentId": .string(agentId), "customers": .array(customerRows.map(summary)),
                "openDeals": .array(deals.map { .object($0) }), "openQuotes": .array(quotes.map { .object($0) }),
                "paymentsDue": .array(invoices.map { row in .object([
                    "invoiceId": row["invoiceId"] ?? .null, "customerId": row["customerId"] ?? .null, "dueAt": row["dueAt"] ?? .null,
                    "open": .int(row.int("total") - row.int("paid")), "currency": row["currency"] ?? .null,
                ]) }),
                "totalDue": due.json,
            ])
        }
    }
}
