import CRMEvents
import Commands
import Door
import EventStore
import Foundation
import JSONKit
import Projections

/// Turns one request line into one response line (docs/protocol.md): parses it, asks the access
/// policy once who is calling and whether they may (docs/access.md), routes to the write side or
/// the read side, and shapes the result or the error.
///
/// Thread-safe; requests of every connection come here concurrently and meet in the store's
/// group commit.
final class RequestRouter: Sendable {
    let commands: CommandService
    let queries: CRMQueries
    let access: AccessSource

    /// `log.subscribe`, which the connection streams.
    static let subscribe = QueryCatalogue.subscription.name

    /// Routes to `commands` and `queries`, identifying callers with `access`.
    init(commands: CommandService, queries: CRMQueries, access: AccessSource) {
        self.commands = commands
        self.queries = queries
        self.access = access
    }

    /// A parsed request the policy admitted: the id to answer with, the op, its arguments, who
    /// sends it and how far their rights reach.
    struct Request: Sendable {
        var id: JSON
        var op: String
        var args: JSON
        var caller: Caller
        var scope: AccessScope
        var requestId: String?
        var expectedVersion: StreamVersion?
        var correlationId: String?
        var causationId: String?
    }

    /// An error response, with the request's id when known.
    static func error(_ id: JSON, _ error: WireError) -> JSON {
        var object: JSONObject = ["code": .string(error.code.rawValue), "message": .string(error.message)]
        if let path = error.path { object["path"] = .string(path) }
        if let rule = error.rule { object["rule"] = .string(rule) }
        return .object(["id": id, "ok": false, "error": .object(object)])
    }

    /// Parses and admits a request line; returns the request, or the error response to send.
    func parse(_ line: [UInt8], uid: UInt32) -> Result<Request, JSONResponse> {
        let json: JSON
        do { json = try JSON.parse(line) } catch {
            return .failure(JSONResponse(RequestRouter.error(.null, WireError(.badRequest, "not JSON: \(error)"))))
        }
        guard case .object(let object) = json else {
            return .failure(
                JSONResponse(RequestRouter.error(.null, WireError(.badRequest, "a request is a JSON object"))))
        }
        let id = object["id"] ?? .null
        if let violation = WireSchemas.request.validate(json) {
            return .failure(
                JSONResponse(
                    RequestRouter.error(id, WireError(.badRequest, "request \(violation)", path: violation.path))))
        }
        guard let op = object["op"]?.stringValue else {
            return .failure(JSONResponse(RequestRouter.error(id, WireError(.badRequest, "request /op: is required"))))
        }
        let args = object["args"] ?? .object([:])
        do {
            let caller = try identify(uid: uid, acting: object["as"]?.stringValue)
            let scope = try admit(caller, op: op, args: args)
            return .success(
                Request(
                    id: id, op: op, args: args, caller: caller, scope: scope,
                    requestId: object["requestId"]?.stringValue,
                    expectedVersion: object["expectedVersion"]?.intValue.map { StreamVersion($0) },
                    correlationId: object["correlationId"]?.stringValue,
                    causationId: object["causationId"]?.stringValue))
        } catch {
            return .failure(JSONResponse(RequestRouter.error(id, error)))
        }
    }

    /// Who the connection of `uid` is, acting as `acting` when it names someone.
    private func identify(uid: UInt32, acting: String?) throws(WireError) -> Caller {
        let list = access.current
        let listed = list.entry(for: uid).map { (principal: $0.principal, role: $0.role) }
        return try AccessPolicy.identify(
            uid: uid, listed: listed, acting: acting,
            listedRole: { name in list.users.values.first { $0.principal == name }?.role },
            hiredRole: { name in (try? self.commands.agentRole(name)) ?? nil })
    }

    /// The policy's answer for `op`: the write side answers its questions of data for commands,
    /// the read models for queries.
    private func admit(_ caller: Caller, op: String, args: JSON) throws(WireError) -> AccessScope {
        if let audience = CommandCatalogue.audience(op) {
            return try AccessPolicy.authorise(caller, op: op, audience: audience, args: args, facts: commands)
        }
        if let definition = QueryCatalogue.definition(op) {
            return try AccessPolicy.authorise(caller, op: op, audience: definition.audience, args: args, facts: queries)
        }
        if op == QueryCatalogue.subscription.name {
            let audience = QueryCatalogue.subscription.audience
            return try AccessPolicy.authorise(caller, op: op, audience: audience, args: args, facts: queries)
        }
        throw WireError(.unknownOp, "unknown op \(op)")
    }

    /// Answers an admitted request (everything but `log.subscribe`, which the connection streams).
    func answer(_ request: Request) async -> JSON {
        let id = request.id
        do {
            if CommandCatalogue.contains(request.op) {
                let context = CommandContext(
                    actor: Actor(principal: request.caller.principal, uid: request.caller.uid),
                    requestId: request.requestId, expectedVersion: request.expectedVersion,
                    correlationId: request.correlationId, causationId: request.causationId)
                let result = try await commands.execute(request.op, request.args, context: context)
                return .object(["id": id, "ok": true, "result": result.json])
            }
            let result = try queries.run(request.op, request.args, scope: request.scope, caller: request.caller.principal)
            return .object(["id": id, "ok": true, "result": result])
        } catch {
            return RequestRouter.error(id, error)
        }
    }
}

/// A response ready to send.
struct JSONResponse: Error, Sendable {
    let json: JSON
    init(_ json: JSON) { self.json = json }
}
