import Foundation
import Importer
import JSONKit

/// The daemon, as the front desk reaches it: one request per call over its Unix socket, sent
/// `as` the person logged in, so the daemon's access policy decides what the browser may do.
///
/// The front desk holds no CRM data; everything it shows is an answer from here.
public struct DaemonGateway: Sendable {
    /// The daemon's socket.
    public let socket: String

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
        let response: JSON = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try DaemonGateway.exchange(path, line) })
            }
        }
        return CRMAnswer(response: response)
    }

    /// One request line out, one response line back, on a fresh connection.
    static func exchange(_ path: String, _ line: [UInt8]) throws -> JSON {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Unreachable(description: "no socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Unreachable(description: "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            throw Unreachable(description: "cannot connect to \(path): \(String(cString: strerror(errno)))")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var sent = 0
        while sent < line.count {
            let n = line[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
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
