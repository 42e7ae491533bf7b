import CRMEvents
import Foundation
import JSONKit
import XCTest

/// The real `crmd serve` binary on a temporary data directory.
final class DaemonProcess {
    let directory: String
    let process = Process()
    let output = Pipe()
    var socketPath: String { directory + "/crmd.sock" }

    /// The crmd executable, built beside the test bundle.
    static var binary: String {
        let products = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [products, products.deletingLastPathComponent()].map { $0.appendingPathComponent("crmd").path }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) } ?? candidates[0]
    }

    /// Starts serving `directory` (created when `nil`) and waits for the socket.
    init(_ test: XCTestCase, directory: String? = nil, arguments: [String] = []) throws {
        self.directory = directory ?? NSTemporaryDirectory() + "crmd-daemon-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
        process.arguments = ["serve", "--data", self.directory] + arguments
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("crmd: serving "), Date() < deadline, process.isRunning {
            seen.append(output.fileHandleForReading.availableData)
        }
        guard String(decoding: seen, as: UTF8.self).contains("crmd: serving ") else {
            throw NSError(
                domain: "crmd", code: 1,
                userInfo: [NSLocalizedDescriptionKey: "daemon did not start: \(String(decoding: seen, as: UTF8.self))"])
        }
        let dir = self.directory
        let process = self.process
        if directory == nil {
            test.addTeardownBlock {
                if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
                try? FileManager.default.removeItem(atPath: dir)
            }
        }
    }

    /// Sends `signal` and waits for the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) -> Int32 {
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// A new connection.
    func connect() throws -> Connection { try Connection(path: socketPath) }
}

/// A blocking client connection speaking newline-delimited JSON.
final class Connection {
    let fd: Int32
    private var pending: [UInt8] = []

    init(path: String) throws {
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else { throw NSError(domain: "connect", code: Int(errno)) }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Writes raw bytes.
    func write(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            sent += n
        }
    }

    /// Writes one request line.
    func send(_ request: JSON) { write(request.bytes() + [UInt8(ascii: "\n")]) }

    /// Writes one request line given as text.
    func send(_ text: String) { write(Array(text.utf8) + [UInt8(ascii: "\n")]) }

    /// Sets how long `receive` waits.
    func timeout(_ seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next response line, or nil when the daemon closed the connection (or the wait timed out).
    func receive() -> JSON? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeFirst(newline + 1)
                return try? JSON.parse(line)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return nil }
            pending += chunk[0..<n]
        }
    }

    /// Sends one request and waits for its response.
    func call(_ op: String, _ args: String = "{}", id: Int = 1, extra: String = "") -> JSON {
        send(#"{"id": \#(id), "op": "\#(op)", "args": \#(args)\#(extra)}"#)
        return receive() ?? .null
    }
}

/// Runs the crmd binary with `arguments` and `input` on standard input; returns its exit status,
/// standard output and standard error (read at once, so neither pipe can fill and stall it).
func runCrmd(_ arguments: [String], input: String = "") throws -> (status: Int32, output: String, errors: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: DaemonProcess.binary)
    process.arguments = arguments
    let stdin = Pipe()
    let out = Pipe()
    let err = Pipe()
    process.standardInput = stdin
    process.standardOutput = out
    process.standardError = err
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let errors = ErrorsRead()
    let reader = Thread { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
    reader.start()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !reader.isFinished { usleep(1000) }
    return (process.terminationStatus, String(decoding: data, as: UTF8.self), String(decoding: errors.data, as: UTF8.self))
}

/// What the standard-error reader thread read.
private final class ErrorsRead: @unchecked Sendable {
    // @unchecked: written by the reader thread, read only after it finished.
    var data = Data()
}
