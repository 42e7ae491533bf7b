import CRMEvents
import Door
import EventStore
import JSONKit

/// Quotes, pro-formas, invoices and payments: each document is its own stream, and payments
/// live on their invoice's stream so the balance check and the payment commit together.
enum DocumentOps {
    struct LineArgs: Decodable {
        var productId: String
        var quantity: Int64
        var unitPrice: Money?
    }
    static let lineSchema = Schema.record(
        [
            "productId": .id, "quantity": .integer(minimum: 1, maximum: 1_000_000_000),
            "unitPrice": .money,
        ], required: ["productId", "quantity"])
    static let channels = ["phone", "email", "in_person", "sms", "letter", "other"]

    struct Give: Decodable {
        var quoteId: String?
        var customerId: String
        var agentId: String?
        var lines: [LineArgs]
        var currency: String?
        var validUntil: String?
        var channel: String
        var note: String?
    }

    struct Issue: Decodable {
        var proformaId: String?
        var invoiceId: String?
        var customerId: String
        var agentId: String?
        var lines: [LineArgs]
        var currency: String?
        var basedOn: String?
        var dueAt: String?
    }

    struct VoidArgs: Decodable {
        var invoiceId: String
        var reason: String?
    }

    struct Pay: Decodable {
        var paymentId: String?
        var invoiceId: String
        var amount: Int64
        var currency: String?
        var method: String
        var reference: String?
    }

    static func issueSchema(idField: String, requiringDue: Bool) -> Schema {
        .record(
            [
                idField: .id, "customerId": .id, "agentId": .id, "lines": .list(lineSchema, min: 1, max: 200),
                "currency": .currency,
                "basedOn": .id, "dueAt": .dateTime,
            ], required: ["customerId", "lines"] + (requiringDue ? ["dueAt"] : []))
    }

    static let all: [CommandDefinition] = [
        CommandDefinition(
            "quote.give", .customerWork(.customer(at: "/customerId")), Give.self,
            .record(
                [
                    "quoteId": .id, "customerId": .id, "agentId": .id, "lines": .list(lineSchema, min: 1, max: 200),
                    "currency": .currency,
                    "validUntil": .dateTime, "channel": .choice(channels), "note": .text(2000),
                ], required: ["customerId", "lines", "channel"]), give),
        CommandDefinition(
            "proforma.issue", .customerWork(.customer(at: "/customerId")), Issue.self,
            issueSchema(idField: "proformaId", requiringDue: false)
        ) {
            (args: Issue, context: DecisionContext) throws(WireError) -> Decision in try issue(.proforma, args, context)
        },
        CommandDefinition(
            "invoice.issue", .customerWork(.customer(at: "/customerId")), Issue.self,
            issueSchema(idField: "invoiceId", requiringDue: true)
        ) {
            (args: Issue, context: DecisionContext) throws(WireError) -> Decision in try issue(.invoice, args, context)
        },
        CommandDefinition(
            "invoice.void", .customerWork(.invoice(at: "/invoiceId")), VoidArgs.self,
            .record(["invoiceId": .id, "reason": .text(2000)], required: ["invoiceId"]), void),
        CommandDefinition(
            "payment.record", .customerWork(.invoice(at: "/invoiceId")), Pay.self,
            .record(
                [
                    "paymentId": .id, "invoiceId": .id,
                    "amount": .integer(minimum: 1, maximum: SchemaDefinitions.maxAmount),
                    "currency": .currency,
                    "method": .choice(["cash", "card", "transfer", "cheque", "other"]),
                    "reference": .text(128),
                ], required: ["invoiceId", "amount", "method"]), pay),
    ]

    /// Prices the lines from the catalogue where no price is given, refusing retired or unknown
    /// products, mixed currencies and totals beyond `SchemaDefinitions.maxAmount`.
    static func price(
        _ lines: [LineArgs], currency: String?, _ context: DecisionContext
    ) throws(WireError) -> (lines: [DocumentLine], currency: String, total: Int64) {
        var priced: [DocumentLine] = []
        var total: Int64 = 0
        var documentCurrency = currency
        for (i, line) in lines.enumerated() {
            guard let product = context.state.products[line.productId] else {
                throw .rule(
                    "product_unknown", "product \(line.productId) is not in the catalogue",
                    path: "/lines/\(i)/productId")
            }
            guard !product.retired else {
                throw .rule(
                    "product_retired", "product \(line.productId) is retired and can no longer be sold",
                    path: "/lines/\(i)/productId")
            }
            context.relied(on: .product, line.productId)
            let unitPrice = line.unitPrice ?? product.price(at: context.at)
            if let documentCurrency, documentCurrency != unitPrice.currency {
                throw .rule(
                    "mixed_currencies",
                    "line \(i) is priced in \(unitPrice.currency) but the document is in \(documentCurrency)",
                    path: "/lines/\(i)/unitPrice")
            }
            documentCurrency = unitPrice.currency
            let (amount, overflowA) = unitPrice.amount.multipliedReportingOverflow(by: line.quantity)
            let (sum, overflowB) = total.addingReportingOverflow(amount)
            guard !overflowA, !overflowB, sum <= SchemaDefinitions.maxAmount else {
                throw .rule(
                    "amount_too_large", "the total exceeds \(SchemaDefinitions.maxAmount) \(unitPrice.currency)",
                    path: "/lines/\(i)")
            }
            total = sum
            priced.append(DocumentLine(productId: line.productId, quantity: line.quantity, unitPrice: unitPrice))
        }
        return (priced, documentCurrency!, total)
    }

    static func give(_ args: Give, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let agentId = try context.recordingAgent(args.agentId)
        let id = context.newID(args.quoteId, prefix: "q")
        guard context.state.quotes[id] == nil else {
            throw WireError(.conflict, "quote \(id) already exists", path: "/quoteId")
        }
        if let validUntil = args.validUntil { _ = try context.time(validUntil, path: "/validUntil") }
        let (lines, currency, total) = try price(args.lines, currency: args.currency, context)
        let key = try context.key(forCustomer: args.customerId)
        return context.write(
            AggregateKind.quote.stream(try! EntityID(id)), id: id,
            [
                .quoteGiven(
                    QuoteGiven(
                        quoteId: id, customerId: args.customerId, agentId: agentId, lines: lines, currency: currency,
                        total: total,
                        validUntil: args.validUntil, channel: args.channel, note: args.note.map(key.seal)))
            ])
    }

    static func issue(_ kind: AggregateKind, _ args: Issue, _ context: DecisionContext) throws(WireError) -> Decision {
        _ = try context.customer(args.customerId)
        let agentId = try context.recordingAgent(args.agentId)
        let idField = kind == .invoice ? "invoiceId" : "proformaId"
        let id = context.newID(
            kind == .invoice ? args.invoiceId : args.proformaId, prefix: kind == .invoice ? "i" : "f")
        let exists = kind == .invoice ? context.state.invoices[id] != nil : context.state.proformas[id] != nil
        guard !exists else { throw WireError(.conflict, "\(kind.rawValue) \(id) already exists", path: "/\(idField)") }
        if let basedOn = args.basedOn {
            guard let earlier = context.state.proformas[basedOn] ?? context.state.quotes[basedOn] else {
                throw .notFound("quote or pro-forma", basedOn, path: "/basedOn")
            }
            guard earlier.customerId == args.customerId else {
                throw .rule(
                    "document_of_another_customer", "\(basedOn) was made out to customer \(earlier.customerId)",
                    path: "/basedOn")
            }
            try context.notBefore(earlier.givenAt, rule: "document_before_basis", "\(basedOn) was given")
        }
        if let dueAt = args.dueAt { _ = try context.time(dueAt, path: "/dueAt") }
        let (lines, currency, total) = try price(args.lines, currency: args.currency, context)
        let document = IssuedDocument(
            documentId: id, customerId: args.customerId, agentId: agentId, lines: lines,
            currency: currency, total: total, basedOn: args.basedOn, dueAt: args.dueAt)
        let event: CRMEvent =
            kind == .invoice ? .invoiceIssued(InvoiceIssued(document)) : .proformaIssued(ProformaIssued(document))
        return context.write(kind.stream(try! EntityID(id)), id: id, [event])
    }

    static func invoice(_ id: String, _ context: DecisionContext) throws(WireError) -> CompanyState.Invoice {
        guard let invoice = context.state.invoices[id] else { throw .notFound("invoice", id, path: "/invoiceId") }
        _ = try context.customer(invoice.customerId, path: "/invoiceId")
        return invoice
    }

    static func void(_ args: VoidArgs, _ context: DecisionContext) throws(WireError) -> Decision {
        let invoice = try invoice(args.invoiceId, context)
        try context.notBefore(invoice.issuedAt, rule: "void_before_invoice", "invoice \(args.invoiceId) was issued")
        guard !invoice.voided else {
            throw .rule("invoice_already_void", "invoice \(args.invoiceId) is already void", path: "/invoiceId")
        }
        guard invoice.paid == 0 else {
            throw .rule(
                "invoice_has_payments",
                "invoice \(args.invoiceId) has \(invoice.paid) \(invoice.currency) paid; a paid invoice cannot be voided",
                path: "/invoiceId")
        }
        let key = try context.key(forCustomer: invoice.customerId)
        return context.write(
            AggregateKind.invoice.stream(try! EntityID(args.invoiceId)), id: args.invoiceId,
            [
                .invoiceVoided(
                    InvoiceVoided(
                        invoiceId: args.invoiceId, customerId: invoice.customerId, reason: args.reason.map(key.seal)))
            ])
    }

    static func pay(_ args: Pay, _ context: DecisionContext) throws(WireError) -> Decision {
        let invoice = try invoice(args.invoiceId, context)
        guard !invoice.voided else {
            throw .rule("invoice_void", "invoice \(args.invoiceId) is void and cannot be paid", path: "/invoiceId")
        }
        try context.notBefore(
            invoice.issuedAt, rule: "payment_before_invoice", "invoice \(args.invoiceId) was issued")
        if let currency = args.currency, currency != invoice.currency {
            throw .rule(
                "mixed_currencies", "invoice \(args.invoiceId) is in \(invoice.currency), the payment in \(currency)",
                path: "/currency")
        }
        guard args.amount <= invoice.open else {
            throw .rule(
                "overpayment",
                "invoice \(args.invoiceId) has \(invoice.open) \(invoice.currency) open; \(args.amount) is more",
                path: "/amount")
        }
        let paymentId = context.newID(args.paymentId, prefix: "pay")
        guard !invoice.payments.contains(paymentId) else {
            throw WireError(.conflict, "payment \(paymentId) already exists", path: "/paymentId")
        }
        return context.write(
            AggregateKind.invoice.stream(try! EntityID(args.invoiceId)), id: paymentId,
            [
                .paymentRecorded(
                    PaymentRecorded(
                        invoiceId: args.invoiceId, customerId: invoice.customerId, paymentId: paymentId,
                        amount: Money(amount: args.amount, currency: invoice.currency), at: context.at.rfc3339, method: args.method,
                        reference: args.reference, balance: invoice.open - args.amount))
            ])
    }
}
