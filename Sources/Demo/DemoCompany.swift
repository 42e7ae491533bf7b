import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit

/// A realistic synthetic company history, written through the real commands.
///
/// Three branches and representatives with their staff and a catalogue; then, working day after
/// working day (Fridays off), new customers from several channels and campaigns, people and
/// organisations with Persian and English names; calls, meetings, emails and SMS; deals that walk
/// the pipeline at realistic funnel rates with quotes, pro-formas, negotiations and competitors'
/// offers; invoices based on the pro-forma at the negotiated price, paid in parts, the odd void;
/// support contracts after a sale; follow-ups done, deferred and cancelled; monthly targets in the
/// Persian calendar; seasonal repricing; agents who join and leave; customers asking to be forgotten.
///
/// Seeded, so a history can be made again; `setClock` moves the store's clock through the
/// simulated years so recorded times are those of the story. Used by `make bench` and `crmd demo`.
public struct DemoCompany: Sendable {
    /// The command service written through.
    public let service: CommandService
    /// Moves the store's clock; the generator calls it before each part of a simulated day.
    public let setClock: @Sendable (Timestamp) -> Void
    /// Midnight in Tehran of the first simulated day (default 1 Farvardin 1402, Nowruz).
    public var start = DemoCompany.defaultStart
    /// Midnight in Tehran on 1 Farvardin 1402 (Nowruz), where every demo history begins.
    public static let defaultStart = Timestamp(rfc3339: "2023-03-20T20:30:00Z")!
    /// Commands in flight at once (the group commit shares fsyncs between them).
    public var concurrency = 64
    /// Put before every generated id, so that a second run into the same log adds new entities.
    public var idPrefix = ""

    /// Writes through `service`, moving time with `setClock`.
    public init(service: CommandService, setClock: @escaping @Sendable (Timestamp) -> Void) {
        self.service = service
        self.setClock = setClock
    }

    /// Events one customer brings about on average over a history (measured on seeded runs), so
    /// that a history asked for by event count gets a sensible number of customers.
    public static let eventsPerCustomer = 26

    /// Writes about `events` events: `events / eventsPerCustomer` customers over three years,
    /// stopping at the first day past `events`. Returns how many commands were accepted.
    @discardableResult
    public func run(
        events target: Int, seed: UInt64 = 1405, progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Int {
        try await run(
            customers: max(30, target / Self.eventsPerCustomer), years: 3, eventLimit: target, seed: seed,
            progress: progress)
    }

    /// Writes the history of `customers` customers arriving over `years` years; stops early at
    /// the end of the first day on which the log holds `eventLimit` events. Returns how many
    /// commands were accepted (a refusal by a business rule is part of a real day, not an error).
    @discardableResult
    public func run(
        customers: Int, years: Int, eventLimit: Int? = nil, seed: UInt64 = 1405,
        progress: (@Sendable (Int) -> Void)? = nil
    ) async throws -> Int {
        var story = Story(seed: seed, idPrefix: idPrefix, customers: customers, years: years, start: start)
        var accepted = 0
        func run(_ commands: [Story.Command], at hour: Double, of day: Int) async throws {
            setClock(story.time(day: day, hour: hour))
            accepted += try await execute(commands)
        }
        try await run(story.founding(), at: 8, of: 0)
        try await run(story.staffAndCatalogue(), at: 8.5, of: 0)
        for day in 0..<story.days {
            guard !story.isFriday(day) else { continue }
            let parts = story.simulate(day: day)
            for (hour, commands) in parts where !commands.isEmpty {
                try await run(commands, at: hour, of: day)
            }
            let head = Int(try service.store.head().position)
            progress?(head)
            if let eventLimit, head >= eventLimit { break }
        }
        return accepted
    }

    /// Runs commands `concurrency` at a time; refusals (a rule said no) are part of a real day.
    private func execute(_ commands: [Story.Command]) async throws -> Int {
        var accepted = 0
        var index = 0
        while index < commands.count {
            let slice = commands[index..<min(index + concurrency, commands.count)]
            index += slice.count
            accepted += try await withThrowingTaskGroup(of: Int.self) { group in
                for command in slice {
                    group.addTask {
                        do {
                            _ = try await service.execute(
                                command.op, .object(command.args),
                                context: CommandContext(actor: Actor(principal: command.actor)))
                            return 1
                        } catch let error as WireError
                            where [.ruleViolation, .notFound, .conflict].contains(error.code)
                        {
                            if ProcessInfo.processInfo.environment["CRMD_DEMO_DEBUG"] != nil {
                                FileHandle.standardError.write(Data("refused \(command.op): \(error)\n".utf8))
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
