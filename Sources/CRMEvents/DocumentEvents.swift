import JSONKit
/// A price quote was given, by phone, email, in person or otherwise.
public struct QuoteGiven: EventPayload {
    public static let eventType = "QuoteGiven"
    public static let schema = Schema.record(
        [
            "quoteId": .id, "customerId": .id, "agentId": .id, "lines": .list(.line, min: 1, max: 200),
            "currency": .currency,
            "total": .amount, "validUntil": .dateTime,
            "channel": .choice(["phone", "email", "in_person", "sms", "letter", "other"]),
            "note": .sealed,
        ], required: ["quoteId", "customerId", "agentId", "lines", "currency", "total", "channel"])

    public var quoteId: String
    public var customerId: String
    public var agentId: String
    public var lines: [DocumentLine]
    public var currency: String
    /// Sum of quantity × unit price over the lines.
    public var total: Int64
    public var validUntil: String?
    public var channel: String
    public var note: Sealed?

    /// Describes a quote.
    public init(
        quoteId: String, customerId: String, agentId: String, lines: [DocumentLine], currency: String, total: Int64,
        validUntil: String?, channel: String, note: Sealed?
    ) {
        self.quoteId = quoteId
        self.customerId = customerId
        self.agentId = agentId
        self.lines = lines
        self.currency = currency
        self.total = total
        self.validUntil = validUntil
        self.channel = channel
        self.note = note
    }
}

/// A pro-forma invoice or an invoice: a priced document for one customer.
public struct IssuedDocument: Codable, Equatable, Sendable {
    /// The document's id (pro-forma id or invoice id).
    public var documentId: String
    public var customerId: String
    public var agentId: String
    public var lines: [DocumentLine]
    public var currency: String
    public var total: Int64
    /// The quote or pro-forma it follows from, if any.
    public var basedOn: String?
    /// When payment is due (invoices) or the offer lapses (pro-formas).
    public var dueAt: String?

    /// Describes a document.
    public init(
        documentId: String, customerId: String, agentId: String, lines: [DocumentLine], currency: String, total: Int64,
        basedOn: String?, dueAt: String?
    ) {
        self.documentId = documentId
        self.customerId = customerId
        self.agentId = agentId
        self.lines = lines
        self.currency = currency
        self.total = total
        self.basedOn = basedOn
        self.dueAt = dueAt
    }

    static func schema(requiringDue: Bool) -> Schema {
        var required = ["documentId", "customerId", "agentId", "lines", "currency", "total"]
        if requiringDue { required.append("dueAt") }
        return Schema.record(
            [
                "documentId": .id, "customerId": .id, "agentId": .id, "lines": .list(.line, min: 1, max: 200),
                "currency": .currency, "total": .amount, "basedOn": .id, "dueAt": .dateTime,
            ], required: required)
    }
}

/// A pro-forma invoice was issued.
public struct ProformaIssued: EventPayload {
    public static let eventType = "ProformaIssued"
    public static let schema = IssuedDocument.schema(requiringDue: false)
    public var document: IssuedDocument

    /// Wraps the document.
    public init(_ document: IssuedDocument) { self.document = document }
    public init(from decoder: Decoder) throws { document = try IssuedDocument(from: decoder) }
    public func encode(to encoder: Encoder) throws { try document.encode(to: encoder) }
}

/// An invoice was issued; it is open until paid in full or voided.
public struct InvoiceIssued: EventPayload {
    public static let eventType = "InvoiceIssued"
    public static let schema = IssuedDocument.schema(requiringDue: true)
    public var document: IssuedDocument

    /// Wraps the document.
    public init(_ document: IssuedDocument) { self.document = document }
    public init(from decoder: Decoder) throws { document = try IssuedDocument(from: decoder) }
    public func encode(to encoder: Encoder) throws { try document.encode(to: encoder) }
}

/// An invoice was voided: a new fact, the invoice itself stays in the log.
public struct InvoiceVoided: EventPayload {
    public static let eventType = "InvoiceVoided"
    public static let schema = Schema.record(
        ["invoiceId": .id, "customerId": .id, "reason": .sealed],
        required: ["invoiceId", "customerId"])
    public var invoiceId: String
    public var customerId: String
    public var reason: Sealed?

    /// Describes a void.
    public init(invoiceId: String, customerId: String, reason: Sealed?) {
        self.invoiceId = invoiceId
        self.customerId = customerId
        self.reason = reason
    }
}

/// A payment against an invoice; never more than its open balance.
public struct PaymentRecorded: EventPayload {
    public static let eventType = "PaymentRecorded"
    /// A payment was dated (`at`, the day the money came in) from its first version.
    public static let schemaVersion: UInt32 = 1
    public static let schema = Schema.record(
        [
            "invoiceId": .id, "customerId": .id, "paymentId": .id, "amount": .money, "at": .dateTime,
            "method": .choice(["cash", "card", "transfer", "cheque", "other"]), "reference": .text(128),
            "balance": .amount,
        ], required: ["invoiceId", "customerId", "paymentId", "amount", "at", "method", "balance"])

    public var invoiceId: String
    public var customerId: String
    public var paymentId: String
    public var amount: Money
    /// When the money arrived (business time).
    public var at: String
    public var method: String
    /// Bank or cheque reference.
    public var reference: String?
    /// The invoice's open balance after this payment, so an auditor can check each step.
    public var balance: Int64

    /// Describes a payment.
    public init(
        invoiceId: String, customerId: String, paymentId: String, amount: Money, at: String, method: String,
        reference: String?, balance: Int64
    ) {
        self.invoiceId = invoiceId
        self.customerId = customerId
        self.paymentId = paymentId
        self.amount = amount
        self.at = at
        self.method = method
        self.reference = reference
        self.balance = balance
    }
}
