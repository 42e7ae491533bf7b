import CRMEvents
import Commands
import EventStore
import Foundation
import JSONKit
import KeyValue

/// Throughput and latency of whole commands through `CommandService`.
struct CommandMeasurement {
    var commands: Int
    var seconds: Double
    var p50: Double
    var p99: Double
    var rate: Double { Double(commands) / seconds }
}

/// `note.add` from `clients` concurrent tasks, each on its own customer: validation, the decision
/// on company state, sealing the note under the customer's key, encoding and the durable append.
func measureCommands(
    directory: String, clients: Int, maxCommands: Int, maxSeconds: Double
) async throws -> CommandMeasurement {
    var options = StoreOptions()
    options.initialMapSize = 1 << 30
    let store = try EventStore(directory: directory + "/log", options: options)
    let keys = try KeyStore(directory: directory + "/keys")
    defer { store.close(); keys.close() }
    let service = CommandService(store: store, keys: keys)
    let admin = CommandContext(actor: Actor(principal: "admin"))
    for agent in 0..<16 {
        _ = try await service.execute(
            "agent.hire", .object(["agentId": .string("a\(agent)"), "name": "کارشناس فروش"]), context: admin)
    }
    for client in 0..<clients {
        _ = try await service.execute(
            "customer.register",
            .object([
                "customerId": .string("c\(client)"), "name": .string("مشتری شماره \(client)"),
                "phones": .array([.string("+98 912 000 \(1000 + client)")]),
                "agentId": .string("a\(client % 16)"),
            ]), context: admin)
    }
    let (latencies, elapsed) = try await closedLoop(
        tasks: clients, perTask: max(1, maxCommands / clients), seconds: maxSeconds
    ) { client in
        let context = CommandContext(actor: Actor(principal: "a\(client % 16)", uid: 1000))
        let args: JSON = .object([
            "customerId": .string("c\(client)"), "text": "مشتری قیمت را پرسید و قرار شد پیش‌فاکتور ارسال شود",
        ])
        _ = try await service.execute("note.add", args, context: context)
    }
    let sorted = latencies.sorted()
    return CommandMeasurement(
        commands: sorted.count, seconds: elapsed, p50: percentile(sorted, 0.50), p99: percentile(sorted, 0.99))
}
