import JSONKit

/// One request the importer sends: an op, its arguments, its idempotency key.
public struct CRMRequest: Sendable {
    /// The op, e.g. `customer.register`.
    public var op: String
    /// The arguments.
    public var args: JSON
    /// Sending it again returns the first answer instead of writing twice.
    public var requestId: String?

    /// Describes a request.
    public init(_ op: String, _ args: JSON, requestId: String? = nil) {
        self.op = op
        self.args = args
        self.requestId = requestId
    }
}

/// The daemon's answer to one request.
public enum CRMAnswer: Sendable {
    /// Accepted; the result (with `duplicate: true` when the request id had been applied before).
    case ok(JSON)
    /// Refused, with the wire's code, message, the argument it concerns and the rule broken.
    case refused(code: String, message: String, path: String?, rule: String?)

    /// The answer a socket response line carries.
    public init(response: JSON) {
        if response["ok"] == true {
            self = .ok(response["result"] ?? .null)
        } else {
            let error = response["error"] ?? .null
            self = .refused(
                code: error["code"]?.stringValue ?? "internal", message: error["message"]?.stringValue ?? "",
                path: error["path"]?.stringValue, rule: error["rule"]?.stringValue)
        }
    }

    /// The result when accepted.
    public var result: JSON? { if case .ok(let result) = self { result } else { nil } }
}

/// Where the importer's requests go: the serving daemon's socket, or the data directory itself
/// when no daemon serves it. Either way every request meets the same commands and rules.
public protocol CRMConnection: Sendable {
    /// Sends the requests together (pipelined or concurrently) and answers them in order.
    func send(_ requests: [CRMRequest]) async throws -> [CRMAnswer]
}
