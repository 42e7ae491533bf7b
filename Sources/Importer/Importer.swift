import Crypto
import EventStore
import Foundation
import JSONKit

/// What to do with a row whose customer is already in the CRM (or in an earlier row).
public enum DuplicatePolicy: String, Sendable, CaseIterable {
    /// Leave the customer as it is and count the row as a duplicate.
    case skip
    /// Add the row's phones and emails to the customer and set the fields it gives.
    case update
}

/// What an import did, row by row.
public struct ImportSummary: Sendable, Equatable {
    /// Data rows read (the header not counted).
    public var rows = 0
    /// Rows written as new records.
    public var imported = 0
    /// Rows that updated an existing customer.
    public var updated = 0
    /// Rows skipped because their customer already existed.
    public var duplicates = 0
    /// Rows an earlier run of the same file had written already (resumed runs).
    public var alreadyImported = 0
    /// Rows not imported, with the reason.
    public var rejected: [Rejection] = []

    /// One line for people, in English.
    public var line: String {
        "\(rows) rows: \(imported) imported, \(updated) updated, \(duplicates) skipped as duplicates, "
            + "\(alreadyImported) already imported, \(rejected.count) rejected"
    }
}

/// Imports the rows of one file through a `CRMConnection`, in windows of rows sent together,
/// so that the daemon's group commit carries many rows per disk flush.
///
/// Every request's id derives from the file's content hash and the row number, so running the
/// same file again (after a crash, Ctrl-C or SIGKILL) writes each row exactly once; customers'
/// ids derive from them too, which is how a resumed run recognises its own earlier rows.
public final class Importer: @unchecked Sendable {
    // @unchecked: one import runs on one task; the state below is only touched from it.
    let kind: ImportKind
    let table: [[String]]
    let columns: Columns
    let reader: RecordReader
    let connection: CRMConnection
    let fileHash: String
    let onDuplicate: DuplicatePolicy
    /// Rows sent together.
    let window: Int
    var summary = ImportSummary()
    /// Customers of this file so far, by phone key and email: the earlier row's id.
    private var seen: [String: (id: String, row: Int)] = [:]
    /// Customers found by phone, by phone key.
    private var byPhone: [String: [String]] = [:]
    /// The customer each customer row turned out to be: its own, or the one it duplicates.
    private var customerOfRow: [Int: String] = [:]
    /// Customer rows whose registration was refused.
    private var rejectedRows = Set<Int>()
    /// Rows that update a customer on file, waiting for their window to complete.
    private var pendingUpdates: [(CustomerRecord, String)] = []

    /// Prepares an import of `table` (row 1 the header) read as `kind`.
    public init(
        kind: ImportKind, table: [[String]], columns: Columns, values: CellValues, defaults: [Field: String] = [:],
        connection: CRMConnection, fileHash: String, onDuplicate: DuplicatePolicy = .skip, window: Int = 1024
    ) {
        self.kind = kind
        self.table = table
        self.columns = columns
        self.reader = RecordReader(columns: columns, values: values, defaults: defaults)
        self.connection = connection
        self.fileHash = fileHash
        self.onDuplicate = onDuplicate
        self.window = max(1, window)
    }

    /// The SHA-256 of a file's bytes, hex: what its rows' request ids derive from.
    public static func hash(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).lowercaseHex }

    /// The request id of `row`'s `step` (one row may send several requests).
    func requestId(_ row: Int, _ step: String = "") -> String {
        "import-\(fileHash.prefix(24))-\(row)" + (step.isEmpty ? "" : "-" + step)
    }

    /// An id derived from the file and a row (or any text), for records the file does not name.
    func derivedID(_ prefix: String, _ text: String) -> String {
        let digest = SHA256.hash(data: Data("\(fileHash)\u{0}\(text)".utf8))
        return prefix + "-" + digest.prefix(8).lowercaseHex
    }

    /// The data rows with their spreadsheet row numbers, blank rows left out.
    var dataRows: [(number: Int, cells: [String])] {
        table.enumerated().dropFirst().compactMap { index, cells in
            cells.contains { CellValues.trimmed($0) != nil } ? (index + 1, cells) : nil
        }
    }

    /// Runs the import; `progress` hears (rows done, rows in all) after every window.
    public func run(progress: (Int, Int) -> Void = { _, _ in }) async throws -> ImportSummary {
        let rows = dataRows
        summary.rows = rows.count
        switch kind {
        case .customers: try await importCustomers(rows, progress)
        case .interactions: try await importInteractions(rows, progress)
        case .invoices: try await importInvoices(rows, progress)
        }
        summary.rejected.sort { $0.row < $1.row }
        return summary
    }

    func reject(_ rejection: Rejection) { summary.rejected.append(rejection) }

    /// The columns arguments come from, by the argument's path.
    var argumentColumns: [String: Field] {
        [
            "/name": .name, "/kind": .kind, "/phones": .phone, "/emails": .email, "/agentId": .agent,
            "/source": .source, "/tags": .tags, "/address": .address, "/birthday": .birthday, "/branchId": .branch,
            "/customerId": .customer, "/direction": .direction, "/outcome": .outcome, "/subject": .subject,
            "/text": .text, "/durationSeconds": .duration, "/lines": .product, "/invoiceId": .invoice,
            "/amount": .paid, "/dueAt": .due, "/at": kind == .customers ? .registered : .date,
        ]
    }

    func refusal(_ row: Int, _ answer: CRMAnswer) -> Rejection? {
        guard case .refused(let code, let message, let path, let rule) = answer else { return nil }
        return .refused(row, code: code, message: message, path: path, rule: rule, columns: argumentColumns)
    }

    static func isDuplicate(_ answer: CRMAnswer) -> Bool { answer.result?["duplicate"] == true }

    // MARK: Customers

    /// One window of customer rows, read and checked against the file's earlier rows, with the
    /// lookups that find customers already in the CRM.
    private struct CustomerWindow {
        var rows = 0
        var fresh: [CustomerRecord] = []
        var ofEarlierRows: [(record: CustomerRecord, id: String, row: Int)] = []

        /// `customer.lookup`s for every phone and email of the window's fresh rows, as few as
        /// the query's limit of 2,000 of each allows.
        var lookup: [CRMRequest] {
            let phones = Array(Set(fresh.flatMap(\.phones))).sorted()
            let emails = Array(Set(fresh.flatMap(\.emails))).sorted()
            return stride(from: 0, to: max(phones.count, emails.count), by: 2000).map { start in
                CRMRequest(
                    "customer.lookup",
                    .object([
                        "phones": .array(phones.dropFirst(start).prefix(2000).map(JSON.string)),
                        "emails": .array(emails.dropFirst(start).prefix(2000).map(JSON.string)),
                    ]))
            }
        }
    }

    /// Windows are pipelined: the lookups of the next window travel with the registrations of
    /// this one, so the daemon answers reads while the registrations' flush is under way.
    private func importCustomers(_ rows: [(number: Int, cells: [String])], _ progress: (Int, Int) -> Void)
        async throws
    {
        let starts = Array(stride(from: 0, to: rows.count, by: window))
        guard !starts.isEmpty else { return }
        func slice(_ k: Int) -> ArraySlice<(number: Int, cells: [String])> {
            rows[starts[k]..<min(starts[k] + window, rows.count)]
        }
        var current = plan(slice(0))
        var found = try Importer.lookedUp(try await connection.send(current.lookup))
        var done = 0
        for k in starts.indices {
            let registers = classify(current, found)
            var batch = registers.map(\.1)
            var next: CustomerWindow?
            if k + 1 < starts.count {
                next = plan(slice(k + 1))
                batch += next!.lookup
            }
            let answers = try await connection.send(batch)
            try await complete(current, registers, Array(answers.prefix(registers.count)))
            done += current.rows
            progress(done, rows.count)
            if let next {
                current = next
                found = try Importer.lookedUp(Array(answers.dropFirst(registers.count)))
            }
        }
    }

    /// The lookups' answers, or the reason the daemon refused them (no right to read customers).
    static func lookedUp(_ answers: [CRMAnswer]) throws -> [CRMAnswer] {
        for case .refused(let code, let message, _, _) in answers {
            throw ImportError("looking customers up was refused: \(code): \(message)")
        }
        return answers
    }

    private func keys(_ record: CustomerRecord) -> [String] {
        record.phones.map { "phone:" + CellValues.phoneKey($0) } + record.emails.map { "email:" + $0 }
    }

    /// Reads a window's rows and sets aside duplicates of the file's earlier rows.
    private func plan(_ slice: ArraySlice<(number: Int, cells: [String])>) -> CustomerWindow {
        var window = CustomerWindow(rows: slice.count)
        for (number, cells) in slice {
            let record: CustomerRecord
            do { record = try reader.customer(cells, number) } catch {
                reject(error)
                continue
            }
            let id = record.id ?? derivedID("c", "row \(record.row)")
            if let earlier = keys(record).lazy.compactMap({ self.seen[$0] }).first, earlier.id != id {
                window.ofEarlierRows.append((record, earlier.id, earlier.row))
                continue
            }
            for key in keys(record) { seen[key] = (id, record.row) }
            window.fresh.append(record)
        }
        return window
    }

    /// What each fresh row is, given the customers its lookups found: new (a registration to
    /// send), written by an earlier run of this file, or a duplicate of a customer on file.
    private func classify(_ window: CustomerWindow, _ found: [CRMAnswer]) -> [(CustomerRecord, CRMRequest)] {
        var byPhone: [String: JSON] = [:]
        var byEmail: [String: JSON] = [:]
        for answer in found {
            for member in answer.result?["phones"]?.objectValue?.members ?? [] { byPhone[member.key] = member.value }
            for member in answer.result?["emails"]?.objectValue?.members ?? [] { byEmail[member.key] = member.value }
        }
        let existing = window.fresh.map { record -> [String] in
            var ids: [String] = []
            let matches = record.phones.map { byPhone[$0] } + record.emails.map { byEmail[$0] }
            for case .array(let found)? in matches {
                for id in found.compactMap(\.stringValue) where !ids.contains(id) { ids.append(id) }
            }
            return ids
        }
        var registers: [(CustomerRecord, CRMRequest)] = []
        for (index, record) in window.fresh.enumerated() {
            let id = record.id ?? derivedID("c", "row \(record.row)")
            customerOfRow[record.row] = id
            if existing[index].contains(id) {
                summary.alreadyImported += 1
            } else if let other = existing[index].first {
                customerOfRow[record.row] = other
                for key in keys(record) { seen[key] = (other, record.row) }
                if onDuplicate == .update { pendingUpdates.append((record, other)) } else { summary.duplicates += 1 }
            } else {
                var args = record.args
                args["customerId"] = .string(id)
                if let at = record.at { args["at"] = .string(at) }
                registers.append((record, CRMRequest("customer.register", .object(args), requestId: requestId(record.row))))
            }
        }
        return registers
    }

    /// Counts the registrations' answers, then settles the rows that repeat earlier ones.
    private func complete(
        _ window: CustomerWindow, _ registers: [(CustomerRecord, CRMRequest)], _ answers: [CRMAnswer]
    ) async throws {
        for ((record, _), answer) in zip(registers, answers) {
            if let rejection = refusal(record.row, answer) {
                reject(rejection)
                rejectedRows.insert(record.row)
            } else if Importer.isDuplicate(answer) {
                summary.alreadyImported += 1
            } else {
                summary.imported += 1
            }
        }
        var updates = pendingUpdates
        pendingUpdates = []
        for (record, earlierID, row) in window.ofEarlierRows {
            let id = customerOfRow[row] ?? earlierID
            if rejectedRows.contains(row) {
                reject(
                    Rejection(
                        row: record.row, field: nil, english: "the same customer as row \(row), which was rejected",
                        persian: "همان مشتری ردیف \(row) است که پذیرفته نشد"))
            } else if onDuplicate == .update {
                updates.append((record, id))
            } else {
                summary.duplicates += 1
            }
        }
        try await update(updates)
    }

    /// Adds each row's phones and emails to its customer and sets the other fields it gives;
    /// rows of one customer in turn, so each merges onto what the one before it wrote.
    private func update(_ updates: [(CustomerRecord, String)]) async throws {
        var pending = updates
        while !pending.isEmpty {
            var round: [(CustomerRecord, String)] = []
            var later: [(CustomerRecord, String)] = []
            var customers = Set<String>()
            for update in pending {
                if customers.insert(update.1).inserted { round.append(update) } else { later.append(update) }
            }
            try await updateOnce(round)
            pending = later
        }
    }

    private func updateOnce(_ updates: [(CustomerRecord, String)]) async throws {
        guard !updates.isEmpty else { return }
        let files = try await connection.send(updates.map { CRMRequest("customer.get", .object(["customerId": .string($0.1)])) })
        var edits: [(CustomerRecord, CRMRequest)] = []
        for ((record, id), file) in zip(updates, files) {
            var args = record.args
            args["customerId"] = .string(id)
            args["agentId"] = nil
            if let current = file.result {
                for key in ["phones", "emails"] {
                    let old = current[key]?.arrayValue ?? []
                    let new = (args[key]?.arrayValue ?? []).filter { value in
                        key == "emails" ? !old.contains(value) : !old.contains { CellValues.phoneKey($0.stringValue ?? "") == CellValues.phoneKey(value.stringValue ?? "") }
                    }
                    args[key] = new.isEmpty ? nil : .array(old + new)
                }
            }
            guard args.keys.count > 1 else {
                summary.duplicates += 1
                continue
            }
            edits.append((record, CRMRequest("customer.edit", .object(args), requestId: requestId(record.row, "update"))))
        }
        for ((record, _), answer) in zip(edits, try await connection.send(edits.map(\.1))) {
            if case .refused(_, _, _, let rule) = answer, rule == "no_change" {
                summary.duplicates += 1
            } else if let rejection = refusal(record.row, answer) {
                reject(rejection)
            } else if Importer.isDuplicate(answer) {
                summary.alreadyImported += 1
            } else {
                summary.updated += 1
            }
        }
    }

    // MARK: Interactions and invoices

    /// Customer ids for the phone references among `refs`, looked up once per run.
    private func resolve(_ refs: [CustomerRef]) async throws {
        let phones = Set(refs.compactMap { if case .phone(let p) = $0 { p } else { nil } })
            .filter { byPhone[CellValues.phoneKey($0)] == nil }.sorted()
        guard !phones.isEmpty else { return }
        let answer = try await connection.send([
            CRMRequest("customer.lookup", .object(["phones": .array(phones.map(JSON.string))]))
        ])[0]
        if case .refused(let code, let message, _, _) = answer {
            throw ImportError("looking customers up by phone was refused: \(code): \(message)")
        }
        for phone in phones {
            byPhone[CellValues.phoneKey(phone)] =
                answer.result?["phones"]?[phone]?.arrayValue?.compactMap(\.stringValue) ?? []
        }
    }

    /// The customer id `ref` names, or why it names none.
    private func customerId(_ ref: CustomerRef, row: Int) -> Result<String, Rejection> {
        switch ref {
        case .id(let id): return .success(id)
        case .phone(let phone):
            let ids = byPhone[CellValues.phoneKey(phone)] ?? []
            if ids.count == 1 { return .success(ids[0]) }
            return .failure(
                ids.isEmpty
                    ? Rejection(
                        row: row, field: .customer, english: "no customer has the phone number \(phone)",
                        persian: "مشتری‌ای با شماره \(phone) نیست")
                    : Rejection(
                        row: row, field: .customer,
                        english: "\(ids.count) customers have the phone number \(phone) (\(ids.joined(separator: ", "))); give the customer's id",
                        persian: "\(ids.count) مشتری شماره \(phone) را دارند؛ شناسه مشتری را بنویسید"))
        }
    }

    private func importInteractions(_ rows: [(number: Int, cells: [String])], _ progress: (Int, Int) -> Void)
        async throws
    {
        var done = 0
        for start in stride(from: 0, to: rows.count, by: window) {
            let slice = rows[start..<min(start + window, rows.count)]
            var records: [InteractionRecord] = []
            for (number, cells) in slice {
                do { records.append(try reader.interaction(cells, number)) } catch { reject(error) }
            }
            try await resolve(records.map(\.customer))
            var requests: [(Int, CRMRequest)] = []
            for record in records {
                switch customerId(record.customer, row: record.row) {
                case .failure(let rejection): reject(rejection)
                case .success(let id):
                    var args = record.args
                    args["customerId"] = .string(id)
                    requests.append((record.row, CRMRequest(record.op, .object(args), requestId: requestId(record.row))))
                }
            }
            for ((row, _), answer) in zip(requests, try await connection.send(requests.map(\.1))) {
                count(row, answer)
            }
            done += slice.count
            progress(done, rows.count)
        }
    }

    private func count(_ row: Int, _ answer: CRMAnswer) {
        if let rejection = refusal(row, answer) {
            reject(rejection)
        } else if Importer.isDuplicate(answer) {
            summary.alreadyImported += 1
        } else {
            summary.imported += 1
        }
    }

    private func importInvoices(_ rows: [(number: Int, cells: [String])], _ progress: (Int, Int) -> Void)
        async throws
    {
        // Lines sharing an invoice number are one invoice; a bad line holds back its invoice.
        var invoices: [InvoiceRecord] = []
        var index: [String: Int] = [:]
        var badInvoices: [String: Int] = [:]
        for (number, cells) in rows {
            do {
                let line = try reader.invoiceLine(cells, number)
                if let at = index[line.number] {
                    invoices[at].rows.append(number)
                    invoices[at].lines += line.lines
                    invoices[at].paid += line.paid
                } else {
                    index[line.number] = invoices.count
                    invoices.append(line)
                }
            } catch {
                reject(error)
                if let invoice = reader.cell(.invoice, cells) { badInvoices[CellValues.latinDigits(invoice)] = number }
            }
        }
        invoices.removeAll { invoice in
            guard let row = badInvoices[invoice.number] else { return false }
            for line in invoice.rows {
                reject(
                    Rejection(
                        row: line, field: nil, english: "invoice \(invoice.number) has a rejected line (row \(row))",
                        persian: "فاکتور \(invoice.number) ردیف ردشده‌ای دارد (ردیف \(row))"))
            }
            return true
        }
        let products = try await defineProducts(invoices)
        var done = rows.count - invoices.reduce(0) { $0 + $1.rows.count }
        for start in stride(from: 0, to: invoices.count, by: window) {
            let slice = Array(invoices[start..<min(start + window, invoices.count)])
            try await importInvoiceWindow(slice, products: products)
            done += slice.reduce(0) { $0 + $1.rows.count }
            progress(done, rows.count)
        }
    }

    /// The product id of each product the invoices name: the name itself when it is an id,
    /// else one derived from it; products not in the catalogue are added at their first price.
    private func defineProducts(_ invoices: [InvoiceRecord]) async throws -> [String: ProductOutcome] {
        var first: [String: (price: Int64, at: String?)] = [:]
        var order: [String] = []
        for invoice in invoices {
            for line in invoice.lines where first[line.product] == nil {
                first[line.product] = (line.unitPrice, invoice.at)
                order.append(line.product)
            }
        }
        func id(_ name: String) -> String {
            RecordReader.isID(name) ? name : "p-" + SHA256.hash(data: Data(Field.comparable(name).utf8)).prefix(6).lowercaseHex
        }
        let requests = order.map { name in
            var args: JSONObject = [
                "productId": .string(id(name)), "name": .string(String(name.prefix(200))),
                "unitPrice": .object(["amount": .int(first[name]!.price), "currency": "IRR"]),
            ]
            if let at = first[name]!.at { args["at"] = .string(at) }
            return CRMRequest("product.define", .object(args), requestId: "import-product-" + id(name))
        }
        var products: [String: ProductOutcome] = [:]
        for (name, answer) in zip(order, try await connection.send(requests)) {
            switch answer {
            case .ok: products[name] = .defined(id(name))
            case .refused(let code, let message, _, _):
                products[name] = code == "conflict" ? .defined(id(name)) : .refused(message)
            }
        }
        return products
    }

    private func importInvoiceWindow(_ invoices: [InvoiceRecord], products: [String: ProductOutcome])
        async throws
    {
        try await resolve(invoices.map(\.customer))
        var issues: [(InvoiceRecord, CRMRequest)] = []
        invoices: for invoice in invoices {
            let first = invoice.rows[0]
            let customer: String
            switch customerId(invoice.customer, row: first) {
            case .failure(let rejection):
                for row in invoice.rows { reject(Rejection(row: row, field: rejection.field, english: rejection.english, persian: rejection.persian)) }
                continue invoices
            case .success(let id): customer = id
            }
            var lines: [JSON] = []
            for line in invoice.lines {
                switch products[line.product] ?? .refused("not defined") {
                case .refused(let message):
                    for row in invoice.rows {
                        reject(
                            Rejection(
                                row: row, field: .product, english: "product \(line.product) could not be added: \(message)",
                                persian: "کالای «\(line.product)» افزوده نشد: \(message)"))
                    }
                    continue invoices
                case .defined(let productId):
                    lines.append(
                        .object([
                            "productId": .string(productId), "quantity": .int(line.quantity),
                            "unitPrice": .object(["amount": .int(line.unitPrice), "currency": "IRR"]),
                        ]))
                }
            }
            let invoiceId = RecordReader.isID(invoice.number) ? invoice.number : derivedID("inv", invoice.number)
            var args: JSONObject = [
                "invoiceId": .string(invoiceId), "customerId": .string(customer), "lines": .array(lines),
                "currency": "IRR",
            ]
            if let at = invoice.at { args["at"] = .string(at) }
            if let agent = invoice.agent { args["agentId"] = .string(agent) }
            args["dueAt"] = .string(invoice.due ?? invoice.at ?? CellValues.rfc3339(Date()))
            issues.append((invoice, CRMRequest("invoice.issue", .object(args), requestId: requestId(first))))
        }
        var payments: [(InvoiceRecord, CRMRequest, Bool)] = []
        for ((invoice, request), answer) in zip(issues, try await connection.send(issues.map(\.1))) {
            let exists: Bool
            if case .refused(let code, _, let path, _) = answer, code == "conflict", path == "/invoiceId" {
                exists = true  // issued by an earlier import of the same invoice (a fixed rejects file)
            } else if let rejection = refusal(invoice.rows[0], answer) {
                for row in invoice.rows { reject(Rejection(row: row, field: rejection.field, english: rejection.english, persian: rejection.persian)) }
                continue
            } else {
                exists = Importer.isDuplicate(answer)
            }
            guard invoice.paid > 0 else {
                if exists { summary.alreadyImported += invoice.rows.count } else { summary.imported += invoice.rows.count }
                continue
            }
            var args: JSONObject = [
                "invoiceId": request.args["invoiceId"]!, "amount": .int(invoice.paid), "method": "other",
                "paymentId": .string(derivedID("pay", invoice.number)),
            ]
            if let at = invoice.at { args["at"] = .string(at) }
            payments.append((invoice, CRMRequest("payment.record", .object(args), requestId: requestId(invoice.rows[0], "paid")), exists))
        }
        for ((invoice, _, existed), answer) in zip(payments, try await connection.send(payments.map(\.1))) {
            if case .refused(let code, _, let path, _) = answer, code == "conflict", path == "/paymentId" {
                summary.alreadyImported += invoice.rows.count
            } else if let rejection = refusal(invoice.rows[0], answer) {
                for row in invoice.rows {
                    reject(
                        Rejection(
                            row: row, field: .paid, english: "the invoice was recorded but not its payment: " + rejection.english,
                            persian: "فاکتور ثبت شد ولی پرداختی آن نه: " + rejection.persian))
                }
            } else if existed && Importer.isDuplicate(answer) {
                summary.alreadyImported += invoice.rows.count
            } else {
                summary.imported += invoice.rows.count
            }
        }
    }
}

/// What became of a product an invoice file names: its id in the catalogue, or why it has none.
enum ProductOutcome: Sendable {
    case defined(String)
    case refused(String)
}
