import EventStore
import Foundation
import KeyValue
import XCTest

/// The key store's group commit: concurrent first keys go to disk together, each owner gets
/// exactly one key however many ask at once, and a destroyed owner never gets a new one.
final class KeyStoreTests: XCTestCase {
    func testConcurrentFirstKeysAreOnePerOwnerAndSurviveAReopen() async throws {
        let directory = try temporaryDirectory(self, "keys")
        let keys = try KeyStore(directory: directory)
        _ = try keys.keyCreatingIfNeeded(for: "customer-gone") { [1, 2, 3] }
        XCTAssertTrue(try keys.destroy("customer-gone"))
        let owners = (0..<200).map { "customer-\($0 % 120)" } + ["customer-gone"]
        let results = owners.map { _ in SharedResult() }
        await withTaskGroup(of: Void.self) { group in
            for (index, owner) in owners.enumerated() {
                group.addTask {
                    do {
                        results[index].value = .success(
                            try await keys.storeKey((0..<32).map { _ in UInt8.random(in: 0...255) }, for: owner))
                    } catch {
                        results[index].value = .failure(error)
                    }
                }
            }
        }
        var byOwner: [String: [UInt8]] = [:]
        for (owner, result) in zip(owners, results) {
            if owner == "customer-gone" {
                XCTAssertThrowsError(try result.value?.get(), "a destroyed owner gets no new key")
                continue
            }
            let key = try XCTUnwrap(try result.value?.get())
            if let first = byOwner[owner] { XCTAssertEqual(key, first, "one key per owner, however many ask") }
            byOwner[owner] = key
        }
        XCTAssertEqual(byOwner.count, 120)
        keys.close()
        let reopened = try KeyStore(directory: directory)
        defer { reopened.close() }
        for (owner, key) in byOwner { XCTAssertEqual(try reopened.key(for: owner), key, "\(owner) is durable") }
        XCTAssertNil(try reopened.key(for: "customer-gone"))
    }
}

/// One slot a concurrent worker fills.
final class SharedResult: @unchecked Sendable {
    var value: Result<[UInt8], Error>?
}
