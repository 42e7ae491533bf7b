import Foundation
import Importer
import JSONKit

/// The daemon, as the front desk reaches it: one request per call over its Unix socket, sent
/// `as` the person logged in, so the daemon's access policy decides what the browser may do.
///
/// The front desk holds no CRM data; everything it shows is an answer from here. Connections are
/// kept open between calls (a connect costs the daemon more than a small query does), one call
/// at a time on each.
public struct DaemonGateway: Sendable {
    /// The daemon's socket.
    public let socket: String
    let idle = IdleConnections()

    /// Talks to the daemon on `socket`.
    public init(socket: String) { self.socket = socket }

    /// The daemon did not answer (not running, or went away).
    public struct Unreachable: Error, CustomStringConvertible {
        /// What happened, for the server's log.
        public let description: String
    }

    /// Sends `op` with `args` as `agentId` (with a request id for writes, so a resubmitted form
    /// writes once) and returns the answer, off the server's event loops.
    public func call(_ op: String, _ args: JSON, as agentId: String, requestId: String? = nil) async throws -> CRMAnswer {
        var request: JSONObject = ["id": 1, "op": .string(op), "args": args, "as": .string(agentId)]
        if let requestId { request["requestId"] = .string(requestId) }
        let line = JSON.object(request).bytes() + [UInt8(ascii: "\n")]
        let path = socket
        let idle = idle
        let response: JSON = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try DaemonGateway.exchange(path, line, idle) })
            }
        }
        return CRMAnswer(response: response)
    }

    /// One request line out, one response line back: on a kept connection when there is one,
    /// else (or when the kept one turns out closed, as after a restart of the daemon) on a new one.
    /// Sending a request again is safe: reads change nothing and every write carries a request id.
    static func exchange(_ path: String, _ line: [UInt8], _ idle: IdleConnections) throws -> JSON {
        if let kept = idle.take() {
            if let response = try? roundTrip(kept, line) {
                idle.put(kept)
                return response
            }
            close(kept)
        }
        let fd = try connect(path)
        do {
            let response = try roundTrip(fd, line)
            idle.put(fd)
            return response
        } catch {
            close(fd)
            throw error
        }
    }

    /// A new connection to the daemon's socket.
    static func connect(_ path: String) throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unreachable(description: "no socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Unreachable(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Unreachable(description: "cannot connect to \(path): \(reason)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// `line` out on `fd` and its one response line back.
    static func roundTrip(_ fd: Int32, _ line: [UInt8]) throws -> JSON {
        var sent = 0
        while sent < line.count {
            // MSG_NOSIGNAL: a kept connection the daemon closed fails with EPIPE, not SIGPIPE.
            let n = line[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Unreachable(description: "the daemon closed the connection") }
            sent += n
        }
        var response: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while !response.contains(UInt8(ascii: "\n")) {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw Unreachable(description: "the daemon closed the connection without answering") }
            response += chunk[0..<n]
        }
        return try JSON.parse(Array(response.prefix { $0 != UInt8(ascii: "\n") }))
    }
}

/// Open connections to the daemon not in use, for the next call to take.
final class IdleConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var fds: [Int32] = []
    /// More than this many idle connections are closed rather than kept.
    static let keep = 64

    deinit { fds.forEach { close($0) } }

    /// An idle connection, now the caller's.
    func take() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        return fds.popLast()
    }

    /// Gives a connection back after a complete exchange.
    func put(_ fd: Int32) {
        lock.lock()
        let kept = fds.count < IdleConnections.keep
        if kept { fds.append(fd) }
        lock.unlock()
        if !kept { close(fd) }
    }
}
