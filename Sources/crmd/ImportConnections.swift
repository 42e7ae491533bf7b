import CRMEvents
import Commands
import EventStore
import Foundation
import Importer
import JSONKit
import KeyValue
import Projections

/// The serving daemon, over its socket: a window of requests is written while the answers are
/// read (pipelined; the daemon answers in completion order, matched here by id).
final class DaemonConnection: CRMConnection, @unchecked Sendable {
    // @unchecked: the importer sends one window at a time from one task.
    let client: SocketClient
    let acting: String?
    private var nextId: Int64 = 1

    /// Connects to the daemon on `socket`, sending as `acting` when given.
    init(socket: String, acting: String?) throws {
        client = try SocketClient(path: socket)
        self.acting = acting
    }

    func send(_ requests: [CRMRequest]) async throws -> [CRMAnswer] {
        guard !requests.isEmpty else { return [] }
        let first = nextId
        nextId += Int64(requests.count)
        var lines: [UInt8] = []
        for (offset, request) in requests.enumerated() {
            var object: JSONObject = ["id": .int(first + Int64(offset)), "op": .string(request.op), "args": request.args]
            if let requestId = request.requestId { object["requestId"] = .string(requestId) }
            if let acting { object["as"] = .string(acting) }
            lines += JSON.object(object).bytes()
            lines.append(UInt8(ascii: "\n"))
        }
        // Written from another thread while this one reads: a window larger than the socket's
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
        var answers = [CRMAnswer?](repeating: nil, count: requests.count)
        var received = 0
        while received < requests.count {
            let line = try client.readLine()
            let response = try JSON.parse(line)
            guard case .int(let id)? = response["id"], id >= first, id < first + Int64(requests.count) else {
                throw CLIError("the daemon answered a request this import did not send: \(response.serialized())")
            }
            answers[Int(id - first)] = CRMAnswer(response: response)
            received += 1
        }
        return answers.map { $0! }
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
