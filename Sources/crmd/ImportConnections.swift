import CRMEvents
import Commands
import EventStore
import Foundation
import Importer
import JSONKit
import KeyValue
import Projections

/// The serving daemon, over a few sockets: a window of requests is split between them, each
/// part written while its answers are read (pipelined; the daemon answers in completion order,
/// matched here by id). Several connections, because the daemon admits a bounded number of
/// requests in flight per connection.
final class DaemonConnection: CRMConnection, @unchecked Sendable {
    // @unchecked: the importer sends one window at a time from one task; each client is used
    // by one thread during a send.
    let clients: [SocketClient]
    let acting: String?
    private var nextId: Int64 = 1

    /// Connects `connections` times to the daemon on `socket`, sending as `acting` when given.
    init(socket: String, acting: String?, connections: Int = 4) throws {
        clients = try (0..<max(1, connections)).map { _ in try SocketClient(path: socket) }
        self.acting = acting
    }

    func send(_ requests: [CRMRequest]) async throws -> [CRMAnswer] {
        guard !requests.isEmpty else { return [] }
        let first = nextId
        nextId += Int64(requests.count)
        let share = (requests.count + clients.count - 1) / clients.count
        let parts = stride(from: 0, to: requests.count, by: share).map { $0..<min($0 + share, requests.count) }
        let answers = SlotArray<CRMAnswer>(count: requests.count)
        let failure = SlotArray<Error>(count: 1)
        let acting = self.acting
        let clients = self.clients
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().async {
                DispatchQueue.concurrentPerform(iterations: parts.count) { index in
                    do {
                        try DaemonConnection.exchange(
                            clients[index], requests, parts[index], firstId: first, acting: acting, into: answers)
                    } catch {
                        failure[0] = error
                    }
                }
                done.resume()
            }
        }
        if let error = failure[0] { throw error }
        return (0..<requests.count).map { answers[$0]! }
    }

    /// Sends `range` of `requests` on `client` and reads their answers.
    private static func exchange(
        _ client: SocketClient, _ requests: [CRMRequest], _ range: Range<Int>, firstId: Int64, acting: String?,
        into answers: SlotArray<CRMAnswer>
    ) throws {
        var lines: [UInt8] = []
        for index in range {
            let request = requests[index]
            var object: JSONObject = [
                "id": .int(firstId + Int64(index)), "op": .string(request.op), "args": request.args,
            ]
            if let requestId = request.requestId { object["requestId"] = .string(requestId) }
            if let acting { object["as"] = .string(acting) }
            lines += JSON.object(object).bytes()
            lines.append(UInt8(ascii: "\n"))
        }
        // Written from another thread while this one reads: a part larger than the socket's
        // buffers would otherwise leave both sides waiting for the other to read.
        let fd = client.fd
        let bytes = lines
        let writer = Thread {
            let lines = bytes
            var sent = 0
            while sent < lines.count {
                let n = lines[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                sent += n
            }
        }
        writer.start()
        for _ in range {
            let response = try JSON.parse(try client.readLine())
            guard case .int(let id)? = response["id"], range.contains(Int(id - firstId)) else {
                throw CLIError("the daemon answered a request this import did not send: \(response.serialized())")
            }
            answers[Int(id - firstId)] = CRMAnswer(response: response)
        }
    }
}

/// Slots filled by concurrent workers, each slot by one.
final class SlotArray<Element>: @unchecked Sendable {
    // @unchecked: each index is written by exactly one worker, and read after all have finished.
    private var slots: [Element?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    subscript(index: Int) -> Element? {
        get { lock.withLock { slots[index] } }
        set { lock.withLock { slots[index] = newValue } }
    }
}

/// The data directory itself, when no daemon serves it: the same commands, queries and access
/// rules as the daemon's (its router, with this process's uid), the projections caught up
/// before every lookup.
final class LocalConnection: CRMConnection, @unchecked Sendable {
    // @unchecked: the importer sends one window at a time from one task.
    let store: EventStore
    let keys: KeyStore
    let projector: Projector
    let router: RequestRouter
    let acting: String?

    /// Opens `directory` for writing (refused while a daemon serves it).
    init(directory: String, acting: String?) throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        do {
            store = try EventStore(directory: directory + "/log")
        } catch StoreError.locked(_, let holder) {
            throw CLIError(
                "a crmd\(holder.map { " (pid \($0))" } ?? "") holds \(directory) but its socket does not answer; "
                    + "import through it with --socket, or stop it")
        }
        keys = try KeyStore(directory: directory + "/keys")
        projector = try Projector(
            store: store, directory: directory + "/projections", projections: Projections.all(keys: keys))
        try projector.catchUp()
        router = RequestRouter(
            commands: CommandService(store: store, keys: keys),
            queries: try CRMQueries(projector: projector, keys: keys),
            access: try AccessSource(dataDirectory: directory))
        self.acting = acting
    }

    func send(_ requests: [CRMRequest]) async throws -> [CRMAnswer] {
        if requests.contains(where: { !CommandCatalogue.contains($0.op) }) { try projector.catchUp() }
        var parsed: [Result<RequestRouter.Request, JSONResponse>] = []
        for (index, request) in requests.enumerated() {
            var object: JSONObject = ["id": .int(Int64(index)), "op": .string(request.op), "args": request.args]
            if let requestId = request.requestId { object["requestId"] = .string(requestId) }
            if let acting { object["as"] = .string(acting) }
            parsed.append(router.parse(JSON.object(object).bytes(), uid: getuid()))
        }
        let router = self.router
        return await withTaskGroup(of: (Int, JSON).self) { group in
            for (index, request) in parsed.enumerated() {
                switch request {
                case .failure(let response): group.addTask { (index, response.json) }
                case .success(let admitted): group.addTask { (index, await router.answer(admitted)) }
                }
            }
            var answers = [CRMAnswer?](repeating: nil, count: requests.count)
            for await (index, response) in group { answers[index] = CRMAnswer(response: response) }
            return answers.map { $0! }
        }
    }

    /// Folds what the import wrote into the projections and closes the directory.
    func close() throws {
        try projector.catchUp()
        projector.close()
        store.close()
        keys.close()
    }
}
