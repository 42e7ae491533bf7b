import CRMEvents
import Door
import JSONKit

/// The files under `schemas/`, rendered from the definitions the code enforces.
public enum SchemaFiles {
    /// Every schema file: its path below `schemas/` and its content; `queries` are the read
    /// side's ops (Projections), passed in because Commands does not know them.
    public static func all(queries: [(op: String, schema: Schema)]) -> [(path: String, content: String)] {
        var files: [(String, JSON)] = []
        for query in queries.sorted(by: { $0.op < $1.op }) {
            files.append(
                (
                    "queries/\(query.op).json",
                    query.schema.document(id: "queries/\(query.op).json", title: "Arguments of \(query.op)")
                ))
        }
        for definition in CommandCatalogue.definitions.sorted(by: { $0.name < $1.name }) {
            files.append(
                (
                    "commands/\(definition.name).json",
                    definition.schema.document(
                        id: "commands/\(definition.name).json", title: "Arguments of \(definition.name)")
                ))
        }
        for entry in EventCatalogue.entries.sorted(by: { ($0.type, $0.version) < ($1.type, $1.version) }) {
            let path = "events/\(entry.type).v\(entry.version).json"
            let title =
                "\(entry.type) payload, schema v\(entry.version)" + (entry.current ? "" : " (read through an upcaster)")
            files.append((path, entry.schema.document(id: path, title: title)))
        }
        files.append(
            (
                "wire/request.json",
                WireSchemas.request.document(id: "wire/request.json", title: "A request line on the socket")
            ))
        files.append(
            (
                "wire/response.json",
                WireSchemas.response.document(id: "wire/response.json", title: "A response line on the socket")
            ))
        files.append(
            (
                "event-envelope.json",
                WireSchemas.eventEnvelope.document(id: "event-envelope.json", title: "A recorded event")
            ))
        return files.map { ($0.0, $0.1.pretty() + "\n") }
    }
}
