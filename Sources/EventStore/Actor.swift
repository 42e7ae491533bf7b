/// Who caused an event: the principal (e.g. an agent id) and the OS uid of the connection.
public struct Actor: Hashable, Sendable, CustomStringConvertible {
    /// The principal's id, e.g. `agent-7` or `system`.
    public var principal: String
    /// The uid of the process that sent the request, when it came through the socket.
    public var uid: UInt32?

    /// Names a principal and, when known, the uid of the process acting for it.
    public init(principal: String, uid: UInt32? = nil) {
        self.principal = principal
        self.uid = uid
    }

    /// The store itself or an offline tool.
    public static let system = Actor(principal: "system")

    public var description: String { uid.map { "\(principal) (uid \($0))" } ?? principal }
}
