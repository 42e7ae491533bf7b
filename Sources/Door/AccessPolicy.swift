import JSONKit

// Who may do what (docs/access.md): the only place crmd decides it. The daemon consults it once
// per request, before the op sees its arguments; every front end (the web desk, an importer)
// reaches the daemon as a `gateway` acting `as` a person, so this policy is the one they trust.

/// The roles of access.json.
public enum Role: String, Sendable, CaseIterable {
    case admin, manager, agent, auditor, gateway
}

/// Who is asking: the identity a request acts with, and the OS user that sent it.
public struct Caller: Sendable, Equatable {
    /// The principal the request acts as (an agent id, `admin`, a gateway's name).
    public var principal: String
    /// The rights it brings.
    public var role: Role
    /// The connecting process's uid (SO_PEERCRED), recorded in every event's actor.
    public var uid: UInt32
    /// The principal that connected, when it acts `as` someone else (a gateway, an admin).
    public var actingFor: String?

    /// Describes a caller.
    public init(principal: String, role: Role, uid: UInt32 = 0, actingFor: String? = nil) {
        self.principal = principal
        self.role = role
        self.uid = uid
        self.actingFor = actingFor
    }

    /// The agent whose customers bound what this caller sees and touches; nil for everyone else.
    public var ownAgent: String? { role == .agent ? principal : nil }
}

/// Which customer an op touches, and where its top-level arguments name it: what the policy asks the
/// data about when an agent calls.
public enum Subject: Sendable, Equatable {
    /// A customer, by the id at `path`.
    case customer(at: String)
    /// A deal, by its id at `path`; it belongs to its customer.
    case deal(at: String)
    /// An invoice, by its id at `path`; it belongs to its customer.
    case invoice(at: String)
    /// A follow-up, by its id at `path`; it belongs to its customer.
    case followup(at: String)
    /// No existing customer (registering one).
    case none
}

/// A record the policy asks about, with its id.
public enum SubjectRecord: Sendable, Hashable {
    case customer(String), deal(String), invoice(String), followup(String)
}

/// Who may call an op: each command and query declares one.
public enum Audience: Sendable, Equatable {
    /// Work on one customer's file: admins and managers on every customer, agents on their own
    /// and only as themselves; auditors never write.
    case customerWork(Subject)
    /// Changes to the company itself (staff, catalogue, branches, targets, pipelines, moving or
    /// forgetting customers): admins and managers.
    case companyWork
    /// Reading one customer's file, or searching customers: agents see their own customers only.
    case customerReading(Subject)
    /// An agent's desk (agenda, view) named by the agent id at `/agentId`: an agent sees only their own.
    case deskReading
    /// Company-wide reports, status and the raw log: admins, managers and auditors.
    case companyReading
    /// Maintenance of the read side (rebuilding projections): admins and managers.
    case maintenance
}

/// What a request may reach once admitted.
public enum AccessScope: Sendable, Equatable {
    /// Every customer.
    case everything
    /// Only the customers this agent serves (a search is narrowed to them).
    case ownCustomers(String)
}

/// The customer a record belongs to, and the agent serving that customer.
public struct Ownership: Sendable, Equatable {
    /// The customer the record belongs to.
    public var customerId: String
    /// The agent serving that customer.
    public var agentId: String?

    /// Describes whose a record is.
    public init(customerId: String, agentId: String?) {
        self.customerId = customerId
        self.agentId = agentId
    }
}

/// The questions of data the policy asks before admitting an agent: answered by the write side
/// for commands and by the read models for queries, each from the freshest state it has.
public protocol AccessFacts: Sendable {
    /// Whose `record` is; nil when there is no such record (the op then answers `not_found`).
    func ownership(of record: SubjectRecord) throws(WireError) -> Ownership?
}

/// Why the policy refused: every refusal message of crmd's access rules, written once.
public enum AccessRefusal: Sendable, Equatable {
    case unknownPeer
    case unknownUID(UInt32)
    case onlyAdminsAndGatewaysAct
    case unknownPrincipal(String)
    case gatewayActsOnlyAsStaff
    case gatewayMustAct
    case auditorsDoNotWrite
    case companyWork(op: String)
    case companyReading(op: String)
    case maintenance
    case rawLog
    case anotherAgentsCustomer(String, path: String)
    case actsOnlyAsThemselves(String)
    case ownDeskOnly

    /// The refusal as the wire reports it.
    public var error: WireError {
        switch self {
        case .unknownPeer: WireError(.forbidden, "the peer's credentials are unknown")
        case .unknownUID(let uid): WireError(.forbidden, "uid \(uid) is not in access.json")
        case .onlyAdminsAndGatewaysAct:
            WireError(.forbidden, "only admins and gateways may act as another principal", path: "/as")
        case .unknownPrincipal(let name):
            WireError(.forbidden, "\(name) is neither a user in access.json nor an active agent", path: "/as")
        case .gatewayActsOnlyAsStaff: WireError(.forbidden, "a gateway acts only as agents, managers and auditors", path: "/as")
        case .gatewayMustAct: WireError(.forbidden, "a gateway acts only `as` an agent", path: "/as")
        case .auditorsDoNotWrite: WireError(.forbidden, "auditors read; they do not write")
        case .companyWork(let op): WireError(.forbidden, "\(op) is for managers and admins")
        case .companyReading(let op): WireError(.forbidden, "\(op) is for managers, admins and auditors")
        case .maintenance: WireError(.forbidden, "rebuilding projections is for admins and managers")
        case .rawLog: WireError(.forbidden, "the raw log is for managers, admins and auditors")
        case .anotherAgentsCustomer(let id, let path):
            WireError(.forbidden, "customer \(id) is served by another agent", path: path)
        case .actsOnlyAsThemselves(let id):
            WireError(.forbidden, "an agent acts only as themselves, not as \(id)", path: "/agentId")
        case .ownDeskOnly: WireError(.forbidden, "an agent sees only their own agenda and view", path: "/agentId")
        }
    }
}

/// The access policy: who a connection is, and whether it may send a request.
public enum AccessPolicy {
    /// The caller a request acts as: the connection's own identity (`listed`, from access.json),
    /// or the principal named in `as`, which brings its own rights: a listed user's role, else
    /// the role the agent was hired with. Nobody gains more than the connection has.
    public static func identify(
        uid: UInt32, listed: (principal: String, role: Role)?, acting: String?,
        listedRole: (String) -> Role?, hiredRole: (String) -> Role?
    ) throws(WireError) -> Caller {
        guard let listed else { throw AccessRefusal.unknownUID(uid).error }
        guard let acting, acting != listed.principal else {
            if listed.role == .gateway { throw AccessRefusal.gatewayMustAct.error }
            return Caller(principal: listed.principal, role: listed.role, uid: uid)
        }
        guard listed.role == .admin || listed.role == .gateway else {
            throw AccessRefusal.onlyAdminsAndGatewaysAct.error
        }
        guard let role = listedRole(acting) ?? hiredRole(acting) else {
            throw AccessRefusal.unknownPrincipal(acting).error
        }
        if listed.role == .gateway, role != .agent, role != .manager, role != .auditor {
            throw AccessRefusal.gatewayActsOnlyAsStaff.error
        }
        return Caller(principal: acting, role: role, uid: uid, actingFor: listed.principal)
    }

    /// Admits `caller` to `op` with `args`, or refuses with `forbidden`. Arguments are read only
    /// where the rule needs them (whose customer, which agent); one missing or of the wrong type
    /// is left for the op's schema to refuse, so who may ask comes before what was asked.
    public static func authorise(
        _ caller: Caller, op: String, audience: Audience, args: JSON,
        facts: @autoclosure () -> any AccessFacts
    ) throws(WireError) -> AccessScope {
        try admit(caller.role, op: op, audience: audience)
        guard let agent = caller.ownAgent else { return .everything }
        switch audience {
        case .customerWork(let subject):
            if let named = args["agentId"]?.stringValue, named != agent {
                throw AccessRefusal.actsOnlyAsThemselves(named).error
            }
            try requireOwn(subject, of: agent, args: args, facts: facts())
        case .customerReading(let subject):
            try requireOwn(subject, of: agent, args: args, facts: facts())
        case .deskReading:
            if let named = args["agentId"]?.stringValue, named != agent { throw AccessRefusal.ownDeskOnly.error }
        case .companyWork, .companyReading, .maintenance:
            break
        }
        return .ownCustomers(agent)
    }

    private static func admit(_ role: Role, op: String, audience: Audience) throws(WireError) {
        switch (audience, role) {
        case (_, .admin): return
        case (_, .gateway): throw AccessRefusal.gatewayMustAct.error
        case (.customerWork, .auditor), (.companyWork, .auditor): throw AccessRefusal.auditorsDoNotWrite.error
        case (.companyWork, .agent): throw AccessRefusal.companyWork(op: op).error
        case (.maintenance, .agent), (.maintenance, .auditor): throw AccessRefusal.maintenance.error
        case (.companyReading, .agent):
            throw (op.hasPrefix("log.") ? AccessRefusal.rawLog : AccessRefusal.companyReading(op: op)).error
        case (.customerReading, _), (.deskReading, _), (.companyReading, _), (.customerWork, _), (.companyWork, _),
            (.maintenance, _):
            return
        }
    }

    private static func requireOwn(
        _ subject: Subject, of agent: String, args: JSON, facts: any AccessFacts
    ) throws(WireError) {
        let path: String
        let record: (String) -> SubjectRecord
        switch subject {
        case .none: return
        case .customer(let at): (path, record) = (at, SubjectRecord.customer)
        case .deal(let at): (path, record) = (at, SubjectRecord.deal)
        case .invoice(let at): (path, record) = (at, SubjectRecord.invoice)
        case .followup(let at): (path, record) = (at, SubjectRecord.followup)
        }
        guard let id = args[String(path.dropFirst())]?.stringValue else { return }
        guard let owner = try facts.ownership(of: record(id)), owner.agentId != agent else { return }
        throw AccessRefusal.anotherAgentsCustomer(owner.customerId, path: path).error
    }
}
