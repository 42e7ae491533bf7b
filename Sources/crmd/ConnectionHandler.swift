import CRMEvents
import Door
import EventStore
import Foundation
import JSONKit
import Logging
import NIOCore
import NIOPosix

/// One client connection: reads request lines, answers each (pipelined, responses carry the
/// request's id, in completion order), streams `log.subscribe`, and protects the daemon with
/// the limits of `ServerState`.
///
/// Lives on its channel's event loop; work for a request runs in a task and comes back to the
/// loop to write its response.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LineDecoder.Frame
    typealias OutboundOut = ByteBuffer

    let router: RequestRouter
    let server: ServerState
    let store: EventStore
    private var uid: UInt32?
    private var inFlight = 0
    private var paused = false
    private var counted = false
    private var subscription: Task<Void, Never>?

    /// Serves one connection.
    init(router: RequestRouter, server: ServerState, store: EventStore) {
        self.router = router
        self.server = server
        self.store = store
    }

    func channelActive(context: ChannelHandlerContext) {
        guard server.open() else {
            write(
                RequestRouter.error(
                    .null, WireError(.unavailable, "too many connections, or the daemon is shutting down")),
                context.channel)
            context.close(promise: nil)
            return
        }
        counted = true
        // The peer's uid, from the kernel (SO_PEERCRED): who is asking is never taken from the request.
        if let provider = context.channel as? SocketOptionProvider {
            let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
                level: NIOBSDSocket.OptionLevel(rawValue: SOL_SOCKET),
                name: NIOBSDSocket.Option(rawValue: SO_PEERCRED))
            future.whenSuccess { [weak self] credentials in self?.uid = credentials.uid }
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        subscription?.cancel()
        if counted { server.close() }
        counted = false
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent, inFlight == 0, subscription == nil {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    private func write(_ json: JSON, _ channel: Channel) {
        var buffer = channel.allocator.buffer(capacity: 256)
        buffer.writeBytes(json.bytes())
        buffer.writeInteger(UInt8(ascii: "\n"))
        channel.writeAndFlush(buffer, promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let channel = context.channel
        guard case .line(var line) = unwrapInboundIn(data) else {
            write(RequestRouter.error(.null, WireError(.badRequest, "a request line is at most 1 MiB")), channel)
            return
        }
        let bytes = line.readBytes(length: line.readableBytes) ?? []
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0D || $0 == 0x09 }) { return }  // blank keep-alive lines
        guard let uid else {
            write(RequestRouter.error(.null, AccessRefusal.unknownPeer.error), channel)
            return
        }
        let request: RequestRouter.Request
        switch router.parse(bytes, uid: uid) {
        case .failure(let response):
            write(response.json, channel)
            return
        case .success(let parsed):
            request = parsed
        }
        if request.op == RequestRouter.subscribe {
            subscribe(request, channel)
            return
        }
        guard server.begin() else {
            write(RequestRouter.error(request.id, WireError(.unavailable, "the daemon is shutting down")), channel)
            return
        }
        inFlight += 1
        if inFlight >= server.maxInFlight, !paused {
            paused = true
            channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
        }
        let router = self.router
        let server = self.server
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loop = context.eventLoop
        Task {
            // Nobody can read the answer of a connection already gone, and a client that never
            // saw an answer has no acknowledgement to lose: skipping its queued requests keeps a
            // flood of abandoned pipelines from delaying everyone else.
            let response: JSON? = channel.isActive ? await router.answer(request) : nil
            server.end()
            loop.execute {
                let handler = bound.value
                if let response { handler.write(response, channel) }
                handler.inFlight -= 1
                if handler.paused, handler.inFlight < handler.server.maxInFlight / 2 {
                    handler.paused = false
                    channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in channel.read() }
                }
            }
        }
    }

    /// Streams events from `from` on, then live, one response line per event. Writes are awaited,
    /// so at most one is buffered: a client that stops reading is cut off after `subscriberSeconds`.
    private func subscribe(_ request: RequestRouter.Request, _ channel: Channel) {
        guard subscription == nil else {
            write(
                RequestRouter.error(request.id, WireError(.badRequest, "this connection already has a subscription")),
                channel)
            return
        }
        let from = Position(max(1, request.args["from"]?.intValue ?? 1))
        let store = self.store
        let patience = server.subscriberSeconds
        subscription = Task {
            do {
                for try await event in store.subscribe(from: from) {
                    let line: JSON = .object([
                        "id": request.id, "ok": true, "result": .object(["event": Envelope.json(event)]),
                    ])
                    var buffer = channel.allocator.buffer(capacity: 512)
                    buffer.writeBytes(line.bytes())
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    let written = channel.eventLoop.makePromise(of: Void.self)
                    channel.writeAndFlush(buffer, promise: written)
                    let delivered = try await withThrowingTaskGroup(of: Bool.self) { group in
                        group.addTask {
                            try await written.futureResult.get(); return true
                        }
                        group.addTask {
                            try await Task.sleep(for: .seconds(patience)); return false
                        }
                        let first = try await group.next() ?? false
                        group.cancelAll()
                        return first
                    }
                    if !delivered {
                        Logger(label: "crmd").warning(
                            "cut off a log.subscribe client that stopped reading at position \(event.position)")
                        channel.close(promise: nil)
                        return
                    }
                }
            } catch {
                channel.close(promise: nil)
            }
        }
    }
}

/// `struct ucred` of <sys/socket.h> (Swift's Glibc module hides it behind _GNU_SOURCE): what
/// SO_PEERCRED returns for a Unix socket's peer.
struct PeerCredentials {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
