import CRMEvents
import Commands
import Door
import Foundation
import JSONKit
import Projections

/// One input through everything a request line meets before any state: the JSON parser, the
/// wire schema, then the command's or query's argument schema and typed decoding. Invariants
/// that must hold for every input are checked with `precondition`, so libFuzzer reports a break
/// as a crash: text the parser accepts serializes back to text that parses to the same value.
func fuzzOne(_ bytes: [UInt8]) {
    guard let json = try? JSON.parse(bytes) else { return }
    let text = json.bytes()
    guard let again = try? JSON.parse(text) else {
        preconditionFailure("serialized JSON does not parse: \(String(decoding: text, as: UTF8.self))")
    }
    precondition(again == json, "a JSON round trip changed the value")
    precondition(
        again.bytes(sortedKeys: true) == json.bytes(sortedKeys: true), "canonical bytes differ after a round trip")
    guard WireSchemas.request.validate(json) == nil, let op = json["op"]?.stringValue else { return }
    let args = json["args"] ?? .object(JSONObject())
    if CommandCatalogue.contains(op) {
        do {
            try CommandCatalogue.check(op, args)
        } catch {
            precondition(error.code != .internal, "validation failed internally: \(error)")
        }
    } else if let schema = QueryCatalogue.definition(op)?.schema {
        _ = schema.validate(args)
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzOne(Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

#if FUZZING
    /// libFuzzer's driver, called from our own main (SwiftPM names the executable's entry point).
    @_silgen_name("LLVMFuzzerRunDriver")
    func runFuzzerDriver(
        _ argc: UnsafeMutablePointer<CInt>,
        _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
        _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
    ) -> CInt

    /// Runs libFuzzer with the command line's options and corpus directories. Run it with
    /// -detect_leaks=0: LeakSanitizer cannot follow the pointers Swift keeps inside multi-payload
    /// enums (the schemas), so it reports the process-wide schema tables as leaked.
    @main
    struct Fuzzer {
        static func main() {
            var argc = CommandLine.argc
            var argv = CommandLine.unsafeArgv
            exit(runFuzzerDriver(&argc, &argv) { data, size in fuzzerTestOneInput(data, size) })
        }
    }
#else
    /// Without libFuzzer: replays every file named on the command line (or in the directories named).
    @main
    struct Replay {
        static func main() {
            var count = 0
            for path in CommandLine.arguments.dropFirst() {
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
                let files =
                    isDirectory.boolValue
                    ? ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted().map {
                        path + "/" + $0
                    } : [path]
                for file in files {
                    guard let data = FileManager.default.contents(atPath: file) else { continue }
                    fuzzOne(Array(data))
                    count += 1
                }
            }
            print("replayed \(count) inputs")
        }
    }
#endif
