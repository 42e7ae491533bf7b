import CRMEvents
import JSONKit
import XCTest

@testable import Projections

/// Rows whose JSON is written by hand (the ones a fold writes for most events) read back through
/// the coder as the very row written, with every optional member present and absent.
final class ReadModelRowTests: XCTestCase {
    func assertRoundTrips<Row: HandWrittenRow & Equatable>(
        _ row: Row, file: StaticString = #filePath, line: UInt = #line
    ) throws {
        XCTAssertEqual(try row.json.decode(Row.self), row, "the hand-written form reads back", file: file, line: line)
        XCTAssertEqual(
            try JSON.encode(row).decode(Row.self), row, "the coder's form reads back", file: file, line: line)
        let handWritten = Set(try JSON.parse(row.json.bytes()).objectValue?.members.map(\.key) ?? [])
        let coded = Set(try JSON.encode(row).objectValue?.members.map(\.key) ?? [])
        XCTAssertTrue(
            handWritten.isSuperset(of: coded), "the hand-written form has every member the coder writes",
            file: file, line: line)
    }

    func testHandWrittenRowsReadBackAsTheRowWritten() throws {
        try assertRoundTrips(
            InteractionRow(
                customerId: "c1", agentId: "maryam", kind: "call", at: "2026-03-03T09:30:00+03:30",
                outcome: "interested", direction: "inbound"))
        try assertRoundTrips(
            InteractionRow(
                customerId: "c1", agentId: "maryam", kind: "note", at: "2026-03-03T09:30:00Z",
                outcome: nil, direction: nil))
        try assertRoundTrips(LastContactRow(at: "2026-03-03T09:30:00Z", kind: "sms", agentId: "ali", outcome: nil))
        try assertRoundTrips(
            LastContactRow(at: "2026-03-03T09:30:00Z", kind: "call", agentId: "ali", outcome: "سفارش داد"))
        let deal = DealRow(
            dealId: "d1", customerId: "c1", agentId: "maryam", branchId: nil, channel: "instagram", campaign: nil,
            pipelineId: "default", stage: "proposal", outcome: "open", openedMicros: 1_700_000_000_000_000,
            value: nil, history: [StageStep(stage: "lead", at: 1), StageStep(stage: "proposal", at: 2)])
        try assertRoundTrips(deal)
        var lost = deal
        (lost.stage, lost.outcome, lost.closedMicros, lost.lostReason, lost.lostFrom) = (
            "lost", "lost", 3, "قیمت", "proposal"
        )
        lost.value = Money(amount: 550_000_000, currency: "IRR")
        try assertRoundTrips(lost)
        try assertRoundTrips(
            FollowupRow(
                followupId: "f1", customerId: "c1", agentId: "maryam", due: "2026-03-10T10:00:00Z",
                dueMicros: 5, kind: "call", status: "scheduled", deferrals: 2,
                scheduledAt: "2026-03-01T10:00:00Z"))
        let sale = SaleRow(
            invoiceId: "i1", customerId: "c1", agentId: "maryam", branchId: "tehran", channel: nil, campaign: "نوروز",
            issuedAt: "2026-03-01T10:00:00Z", currency: "IRR", total: 500, paid: 200, void: false,
            dueAt: "2026-04-01T00:00:00Z", dueMicros: 9,
            lines: [SaleLine(productId: "printer", quantity: 2, amount: 500)])
        try assertRoundTrips(sale)
        var bare = sale
        (bare.branchId, bare.campaign, bare.dueAt, bare.dueMicros, bare.void) = (nil, nil, nil, nil, true)
        try assertRoundTrips(bare)
    }
}
