import CRMEvents
import Commands
import EventStore
import Foundation
import JSONKit
import NIOCore
import NIOPosix
import Projections

/// The running daemon: the socket, the event loops, and what they serve.
final class Daemon: Sendable {
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    let server: ServerState
    let socketPath: String

    /// Binds `socketPath` (mode 0660) and serves `router` on it.
    static func start(
        socketPath: String, router: RequestRouter, server: ServerState, store: EventStore
    ) async throws -> Daemon {
        try Daemon.removeStaleSocket(socketPath)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let idle = TimeAmount.seconds(server.idleSeconds)
        let bootstrap = ServerBootstrap(group: group)
            // A burst of connects up to the connection limit waits in the kernel instead of failing.
            .serverChannelOption(ChannelOptions.backlog, value: Int32(clamping: max(512, server.maxConnections)))
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle))
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineDecoder(maxLength: 1 << 20)))
                    try channel.pipeline.syncOperations.addHandler(
                        ConnectionHandler(router: router, server: server, store: store))
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: socketPath).get()
        } catch {
            try? await group.shutdownGracefully()
            throw CLIError("cannot listen on \(socketPath): \(error)")
        }
        chmod(socketPath, 0o660)
        return Daemon(group: group, channel: channel, server: server, socketPath: socketPath)
    }

    private init(group: MultiThreadedEventLoopGroup, channel: Channel, server: ServerState, socketPath: String) {
        self.group = group
        self.channel = channel
        self.server = server
        self.socketPath = socketPath
    }

    /// A socket file no process listens on (left by a crash) is removed; a live one is refused.
    static func removeStaleSocket(_ path: String) throws {
        guard FileManager.default.fileExists(atPath: path) else { return }
        if (try? SocketClient(path: path)) != nil { throw CLIError("another crmd serves \(path)") }
        unlink(path)
    }

    /// Stops accepting, lets requests in flight finish, then closes every connection.
    func shutdown() async {
        try? await channel.close()
        await server.drain(timeout: .seconds(30))
        try? await group.shutdownGracefully()
        unlink(socketPath)
    }
}
