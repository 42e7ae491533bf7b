import ArgumentParser
import CRMEvents
import Foundation
import JSONKit

/// `crmd send`: one request through the socket, the result pretty-printed.
struct SendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send one request to a running daemon and print the result.",
        discussion: """
            ARGS is the request's arguments as JSON, or - to read them from standard input. The
            result is printed as indented JSON; an error is one line on stderr and exit status 1.

            Example:
              crmd send customer.register '{"name": "رضا رضازاده", "phones": ["0912 345 6789"], "agentId": "maryam"}'
              crmd send report.sales '{"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z", "groupBy": ["month"], "calendar": "persian"}'
            """)

    @OptionGroup var data: DataOptions

    @Argument(help: "The op, e.g. customer.get.")
    var op: String

    @Argument(help: "Arguments as JSON, or - for standard input.")
    var args: String = "{}"

    @Option(help: ArgumentHelp("The socket (default DIR/crmd.sock).", valueName: "PATH"))
    var socket: String?

    @Option(name: .customLong("as"), help: "Act as this agent (admins and gateways).")
    var acting: String?

    @Option(help: "Idempotency key: sending it again returns the first result.")
    var requestId: String?

    @Option(help: "Fail with conflict unless the target stream is at this version.")
    var expectedVersion: Int?

    func run() throws {
        do {
            let text =
                args == "-" ? String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self) : args
            let arguments: JSON
            do { arguments = try JSON.parse(text) } catch { throw CLIError("ARGS is not JSON: \(error)") }
            var request: JSONObject = ["id": 1, "op": .string(op), "args": arguments]
            if let acting { request["as"] = .string(acting) }
            if let requestId { request["requestId"] = .string(requestId) }
            if let expectedVersion { request["expectedVersion"] = .int(Int64(expectedVersion)) }
            let response = try SocketClient(path: socket ?? data.data + "/crmd.sock").roundTrip(.object(request))
            if response["ok"] == true {
                print((response["result"] ?? .null).pretty())
            } else {
                let error = response["error"] ?? .null
                let path = error["path"]?.stringValue.map { " (at \($0))" } ?? ""
                throw CLIError(
                    "\(error["code"]?.stringValue ?? "error"): \(error["message"]?.stringValue ?? "")\(path)")
            }
        } catch {
            exitWithOneLine(error)
        }
    }
}

/// A blocking newline-delimited JSON client over a Unix socket (`crmd send`, `report`, `rebuild`,
/// and the daemon's check for a live socket). The connection closes with the client.
final class SocketClient: @unchecked Sendable {
    // @unchecked: one thread uses a client at a time (a command, or one part of an import's window).
    let fd: Int32

    /// Connects to `path`.
    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        guard path.utf8.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw CLIError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw CLIError("cannot connect to \(path): \(reason) (is `crmd serve` running?)")
        }
    }

    deinit { close(fd) }

    /// Bytes read past the last line returned, from `consumed` on.
    private var buffered: [UInt8] = []
    private var consumed = 0

    /// Sends one request line and reads one response line.
    func roundTrip(_ request: JSON) throws -> JSON {
        var bytes = request.bytes()
        bytes.append(UInt8(ascii: "\n"))
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CLIError("the daemon closed the connection") }
            sent += n
        }
        return try JSON.parse(try readLine())
    }

    /// The next response line (without its newline).
    func readLine() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            if let end = buffered[consumed...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffered[consumed..<end])
                consumed = end + 1
                return line
            }
            // Dropping what was read only now keeps a pipelined stream of answers linear.
            buffered.removeFirst(consumed)
            consumed = 0
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { throw CLIError("the daemon closed the connection without answering") }
            buffered += chunk[0..<n]
        }
    }
}
