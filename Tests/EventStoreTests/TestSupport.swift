import EventStore
import Foundation
import XCTest

/// A fresh directory under the system temp dir, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase, _ name: String = "log") throws -> String {
    let path = NSTemporaryDirectory() + "crmd-test-\(UUID().uuidString)/\(name)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(atPath: (path as NSString).deletingLastPathComponent) }
    return path
}

/// Options with a small map and, when given, a pinned clock.
func testOptions(mapSize: Int = 4 << 20, clock: (@Sendable () -> Timestamp)? = nil) -> StoreOptions {
    var options = StoreOptions()
    options.initialMapSize = mapSize
    if let clock { options.clock = clock }
    return options
}

/// An event whose payload is the UTF-8 of `text`.
func event(_ text: String, type: String = "Tested") -> ProposedEvent {
    ProposedEvent(type: type, data: Array(text.utf8))
}

extension RecordedEvent {
    /// The payload as text.
    var text: String { String(decoding: data, as: UTF8.self) }
}

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let now: Locked<Int64>
    init(_ start: String) { now = Locked(Timestamp(rfc3339: start)!.microsecondsSince1970) }
    func set(_ time: String) { now.withLock { $0 = Timestamp(rfc3339: time)!.microsecondsSince1970 } }
    var read: @Sendable () -> Timestamp { { Timestamp(microsecondsSince1970: self.now.withLock { $0 }) } }
}

/// Asserts that `body` throws a `StoreError` for which `matches` holds.
func assertStoreError<T>(
    _ body: () async throws -> T, file: StaticString = #filePath, line: UInt = #line,
    _ matches: (StoreError) -> Bool
) async {
    do {
        _ = try await body()
        XCTFail("expected a StoreError, got success", file: file, line: line)
    } catch let error as StoreError {
        XCTAssertTrue(matches(error), "unexpected error: \(error)", file: file, line: line)
    } catch {
        XCTFail("expected a StoreError, got \(error)", file: file, line: line)
    }
}

/// A running store-crash-child and what it printed so far.
struct Child {
    let process: Process
    let output: FileHandle
    var printed: Data

    /// Starts store-crash-child with `arguments` and reads what it prints until it holds `ready`
    /// (30 s at most), so a test's kill lands while the child does its work.
    init(_ arguments: [String], ready: String) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: CrashTests.childPath)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        output = pipe.fileHandleForReading
        printed = Data()
        let start = ContinuousClock.now
        while !String(decoding: printed, as: UTF8.self).contains(ready), ContinuousClock.now - start < .seconds(30) {
            printed.append(output.availableData)
        }
    }

    /// Kills the child with SIGKILL, waits for it, and returns every line it printed.
    mutating func kill() -> [String] {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        printed.append(output.readDataToEndOfFile())
        return String(decoding: printed, as: UTF8.self).split(separator: "\n").map(String.init)
    }
}
