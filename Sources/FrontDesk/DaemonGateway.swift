import Foundation
import Importer
import JSONKit
import NIOCore
import NIOPosix

/// The daemon, as the front desk reaches it: one request per call over its Unix socket, sent
/// `as` the person logged in, so the daemon's access policy decides what the browser may do.
///
/// The front desk holds no CRM data; everything it shows is an answer from here. Connections are
/// SwiftNIO channels on the server's own event loops (no thread is parked waiting for the
/// daemon) and are kept open between calls, one call at a time on each: a connect costs the
/// daemon more than a small query does.
public struct DaemonGateway: Sendable {
    /// The daemon's socket.
    public let socket: String
    let idle: IdleConnections
    let group: any EventLoopGroup

    /// Talks to the daemon on `socket`, from the event loops of `group`.
    public init(socket: String, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.socket = socket
        self.group = group
        idle = IdleConnections()
    }

    /// The daemon did not answer (not running, or went away).
    public struct Unreachable: Error, CustomStringConvertible {
        /// What happened, for the server's log.
        public let description: String
    }

    /// Sends `op` with `args` as `agentId` (with a request id for writes, so a resubmitted form
    /// writes once) and returns the answer.
    public func call(_ op: String, _ args: JSON, as agentId: String, requestId: String? = nil) async throws -> CRMAnswer {
        var request: JSONObject = ["id": 1, "op": .string(op), "args": args, "as": .string(agentId)]
        if let requestId { request["requestId"] = .string(requestId) }
        let line = JSON.object(request).bytes() + [UInt8(ascii: "\n")]
        return CRMAnswer(response: try JSON.parse(try await exchange(line)))
    }

    /// One request line out, one response line back: on a kept connection when there is one,
    /// else (or when the kept one turns out closed, as after a restart of the daemon) on a new one.
    /// Sending a request again is safe: reads change nothing and every write carries a request id.
    func exchange(_ line: [UInt8]) async throws -> [UInt8] {
        if let kept = idle.take() {
            if let response = try? await kept.exchange(line) {
                idle.put(kept)
                return response
            }
            kept.close()
        }
        let fresh = try await connect()
        do {
            let response = try await fresh.exchange(line)
            idle.put(fresh)
            return response
        } catch {
            fresh.close()
            throw error
        }
    }

    /// A new connection to the daemon's socket.
    func connect() async throws -> DaemonConnection {
        let lines = ResponseLines()
        do {
            let channel = try await ClientBootstrap(group: group)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(lines) }
                }
                .connect(unixDomainSocketPath: socket).get()
            return DaemonConnection(channel: channel, lines: lines)
        } catch {
            throw Unreachable(description: "cannot connect to \(socket): \(error)")
        }
    }
}

/// One open connection to the daemon, asked one request at a time.
final class DaemonConnection: Sendable {
    let channel: any Channel
    let lines: ResponseLines
    /// How long an answer may take before the connection is given up.
    static let timeout = TimeAmount.seconds(30)

    init(channel: any Channel, lines: ResponseLines) {
        self.channel = channel
        self.lines = lines
    }

    /// `line` out and the one response line back.
    func exchange(_ line: [UInt8]) async throws -> [UInt8] {
        let loop = channel.eventLoop
        let answer = loop.makePromise(of: [UInt8].self)
        let channel = channel
        let lines = lines
        loop.execute {
            lines.expect(answer)
            let late = loop.scheduleTask(in: DaemonConnection.timeout) {
                answer.fail(DaemonGateway.Unreachable(description: "the daemon did not answer in time"))
            }
            answer.futureResult.whenComplete { _ in late.cancel() }
            channel.writeAndFlush(ByteBuffer(bytes: line)).whenFailure { answer.fail($0) }
        }
        return try await answer.futureResult.get()
    }

    /// Closes the connection.
    func close() { channel.close(promise: nil) }
}

/// Collects the daemon's bytes into lines and hands each to the request waiting for it.
/// Touched only on its channel's event loop.
final class ResponseLines: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    private var buffered: [UInt8] = []
    private var waiting: EventLoopPromise<[UInt8]>?

    /// The next line goes to `promise`.
    func expect(_ promise: EventLoopPromise<[UInt8]>) { waiting = promise }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        let start = buffered.count
        buffered += bytes.readBytes(length: bytes.readableBytes) ?? []
        guard let newline = buffered[start...].firstIndex(of: UInt8(ascii: "\n")) else { return }
        let line = Array(buffered[..<newline])
        buffered.removeFirst(newline + 1)
        waiting?.succeed(line)
        waiting = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        waiting?.fail(DaemonGateway.Unreachable(description: "the daemon closed the connection"))
        waiting = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        waiting?.fail(error)
        waiting = nil
        context.close(promise: nil)
    }
}

/// Open connections to the daemon not in use, for the next call to take.
final class IdleConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var connections: [DaemonConnection] = []
    /// More than this many idle connections are closed rather than kept.
    static let keep = 64

    deinit { connections.forEach { $0.close() } }

    /// An idle connection, now the caller's.
    func take() -> DaemonConnection? {
        lock.lock()
        defer { lock.unlock() }
        return connections.popLast()
    }

    /// Gives a connection back after a complete exchange.
    func put(_ connection: DaemonConnection) {
        lock.lock()
        let kept = connections.count < IdleConnections.keep
        if kept { connections.append(connection) }
        lock.unlock()
        if !kept { connection.close() }
    }
}
