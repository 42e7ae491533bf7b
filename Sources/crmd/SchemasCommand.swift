import ArgumentParser
import Commands
import Foundation
import Projections

/// `crmd schemas`: writes or checks the JSON Schema files under `schemas/`.
struct SchemasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schemas",
        abstract: "Write or check the JSON Schemas of every command, event and wire message.",
        discussion: """
            The schemas are defined in the code that enforces them; this renders them as draft
            2020-12 files. --check exits 1 naming the first file that differs, so a change to a
            command or event cannot land without its schema.

            Example:
              crmd schemas --write schemas
              crmd schemas --check schemas
            """)

    @Option(help: ArgumentHelp("Write every schema file into this directory.", valueName: "DIR"))
    var write: String?

    @Option(help: ArgumentHelp("Check that this directory holds exactly the current files.", valueName: "DIR"))
    var check: String?

    func validate() throws {
        guard (write == nil) != (check == nil) else {
            throw ValidationError("give exactly one of --write DIR or --check DIR")
        }
    }

    func run() throws {
        let files = SchemaFiles.all(queries: QueryCatalogue.schemas)
        let fm = FileManager.default
        if let directory = write {
            for file in files {
                let path = directory + "/" + file.path
                try fm.createDirectory(
                    atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try Data(file.content.utf8).write(to: URL(fileURLWithPath: path))
            }
            print("wrote \(files.count) schema files to \(directory)")
            return
        }
        let directory = check!
        var problems: [String] = []
        for file in files {
            let path = directory + "/" + file.path
            guard let data = fm.contents(atPath: path) else { problems.append("\(path) is missing"); continue }
            if String(decoding: data, as: UTF8.self) != file.content {
                problems.append("\(path) differs from the code")
            }
        }
        let expected = Set(files.map(\.path))
        let enumerator = fm.enumerator(atPath: directory)
        while let relative = enumerator?.nextObject() as? String {
            if relative.hasSuffix(".json"), !expected.contains(relative) {
                problems.append("\(directory)/\(relative) is not produced by the code")
            }
        }
        if let first = problems.first {
            exitWithOneLine(
                CLIError(
                    "\(first) (\(problems.count) problem\(problems.count == 1 ? "" : "s"); run crmd schemas --write \(directory))"
                ))
        }
        print("ok: \(files.count) schema files match the code")
    }
}
