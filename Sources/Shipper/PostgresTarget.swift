import Foundation
import NIOSSL
import PostgresNIO

/// Where the log is shipped: a PostgreSQL URL (`postgres://user:password@host:5432/db`,
/// `?sslmode=disable|prefer|require`), as a connection configuration and as a name to log.
public struct PostgresTarget: Sendable, CustomStringConvertible {
    /// How to connect.
    public let configuration: PostgresConnection.Configuration
    /// The URL without its password, for logs and `system.status`.
    public let description: String

    /// Reads `url`; throws with what is wrong in it.
    public init(_ url: String) throws {
        guard let components = URLComponents(string: url),
            components.scheme == "postgres" || components.scheme == "postgresql", let host = components.host,
            !host.isEmpty
        else {
            throw ShipError.badURL("\(url) is not a PostgreSQL URL such as postgres://crmd@127.0.0.1:5432/crmd")
        }
        let user = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
        let password = components.password.flatMap { $0.removingPercentEncoding }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? user : path
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresConnection.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(try NIOSSLContext(configuration: .makeClientConfiguration()))
        case "require": tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
        default: throw ShipError.badURL("sslmode=\(mode): use disable, prefer or require")
        }
        configuration = PostgresConnection.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password, database: database, tls: tls)
        var shown = components
        shown.password = nil
        description = shown.string ?? "postgres://\(host)"
    }
}

/// Why shipping or restoring stopped.
public enum ShipError: Error, CustomStringConvertible, Equatable {
    /// The URL cannot be used.
    case badURL(String)
    /// PostgreSQL holds a history this log does not continue: another log, or an older copy of it.
    case forked(position: UInt64, reason: String)
    /// A restored event does not hash to what PostgreSQL says it should.
    case corrupted(position: UInt64, reason: String)

    public var description: String {
        switch self {
        case .badURL(let message): message
        case .forked(let position, let reason):
            "refusing to ship: at position \(position) \(reason); PostgreSQL holds another history than this log"
        case .corrupted(let position, let reason): "position \(position): \(reason)"
        }
    }
}
