import CRMEvents
import Commands
import EventStore
import Foundation
import Projections

/// Turns one request line into one response line (SPEC §4): parses, checks access (SPEC §8),
/// routes to the write side or the read side, and shapes the result or the error.
///
/// Thread-safe; requests of every connection come here concurrently and meet in the store's
/// group commit.
final class RequestRouter: Sendable {
    let commands: CommandService
    let queries: CRMQueries
    let access: AccessSource

    /// Routes to `commands` and `queries`, checking rights with `access`.
    init(commands: CommandService, queries: CRMQueries, access: AccessSource) {
        self.commands = commands
        self.queries = queries
        self.access = access
    }

    /// A parsed request: the id to answer with, the op, its arguments and who sends it.
    struct Request: Sendable {
        var id: JSON
        var op: String
        var args: JSON
        var principal: String
        var role: AccessList.Role
        var uid: UInt32
        var requestId: String?
        var expectedVersion: StreamVersion?
        var correlationId: String?
        var causationId: String?
    }

    /// An error response, with the request's id when known.
    static func error(_ id: JSON, _ code: String, _ message: String, path: String? = nil, rule: String? = nil) -> JSON {
        var error: JSONObject = ["code": .string(code), "message": .string(message)]
        if let path { error["path"] = .string(path) }
        if let rule { error["rule"] = .string(rule) }
        return .object(["id": id, "ok": false, "error": .object(error)])
    }

    /// Parses and authorises a request line; returns the request, or the error response to send.
    func parse(_ line: [UInt8], uid: UInt32) -> Result<Request, JSONResponse> {
        let json: JSON
        do { json = try JSON.parse(line) } catch {
            return .failure(JSONResponse(RequestRouter.error(.null, "bad_request", "not JSON: \(error)")))
        }
        guard case .object(let object) = json else {
            return .failure(JSONResponse(RequestRouter.error(.null, "bad_request", "a request is a JSON object")))
        }
        let id = object["id"] ?? .null
        if let violation = WireSchemas.request.validate(json) {
            return .failure(JSONResponse(RequestRouter.error(id, "bad_request", "request \(violation)", path: violation.path)))
        }
        guard let caller = access.current.entry(for: uid) else {
            return .failure(JSONResponse(RequestRouter.error(id, "forbidden", "uid \(uid) is not in access.json")))
        }
        var principal = caller.principal
        var role = caller.role
        if let acting = object["as"]?.stringValue, acting != caller.principal {
            guard caller.role == .admin || caller.role == .gateway else {
                return .failure(JSONResponse(RequestRouter.error(id, "forbidden", "only admins and gateways may act as another principal", path: "/as")))
            }
            // The principal acted as brings its own rights: a listed user's role, else the role
            // the agent was hired with. Nobody gains more than the caller has.
            let listed = access.current.users.values.first { $0.principal == acting }?.role
            let hired = (try? commands.agentRole(acting)) ?? nil
            guard let actingRole = listed ?? hired.flatMap(AccessList.Role.init(rawValue:)) else {
                return .failure(JSONResponse(RequestRouter.error(id, "forbidden", "\(acting) is neither a user in access.json nor an active agent", path: "/as")))
            }
            if caller.role == .gateway, actingRole == .admin || actingRole == .auditor || actingRole == .gateway {
                return .failure(JSONResponse(RequestRouter.error(id, "forbidden", "a gateway acts only as agents and managers", path: "/as")))
            }
            principal = acting
            role = actingRole
        } else if caller.role == .gateway {
            return .failure(JSONResponse(RequestRouter.error(id, "forbidden", "a gateway acts only `as` an agent", path: "/as")))
        }
        return .success(Request(id: id, op: object["op"]!.stringValue!, args: object["args"] ?? .object([:]), principal: principal,
                                role: role, uid: uid, requestId: object["requestId"]?.stringValue,
                                expectedVersion: object["expectedVersion"]?.intValue.map { StreamVersion($0) },
                                correlationId: object["correlationId"]?.stringValue, causationId: object["causationId"]?.stringValue))
    }

    /// Answers a parsed request (everything but `log.subscribe`, which the connection streams).
    func answer(_ request: Request) async -> JSON {
        let id = request.id
        if CommandCatalogue.contains(request.op) {
            guard request.role != .auditor else { return RequestRouter.error(id, "forbidden", "auditors read; they do not write") }
            let context = CommandContext(actor: Actor(principal: request.principal, uid: request.uid), requestId: request.requestId,
                                         expectedVersion: request.expectedVersion, correlationId: request.correlationId,
                                         causationId: request.causationId, scope: request.role == .agent ? .agent(request.principal) : .everything)
            do {
                let result = try await commands.execute(request.op, request.args, context: context)
                return .object(["id": id, "ok": true, "result": result.json])
            } catch {
                return RequestRouter.error(id, error.code.rawValue, error.message, path: error.path, rule: error.rule)
            }
        }
        if request.op == "projections.rebuild", request.role != .admin, request.role != .manager {
            return RequestRouter.error(id, "forbidden", "rebuilding projections is for admins and managers")
        }
        if request.op == "log.read", request.role == .agent {
            return RequestRouter.error(id, "forbidden", "the raw log is for managers, admins and auditors")
        }
        do {
            let result = try queries.run(request.op, request.args, agent: request.role == .agent ? request.principal : nil)
            return .object(["id": id, "ok": true, "result": result])
        } catch {
            return RequestRouter.error(id, error.code, error.message, path: error.path)
        }
    }
}

/// A response ready to send.
struct JSONResponse: Error, Sendable {
    let json: JSON
    init(_ json: JSON) { self.json = json }
}
