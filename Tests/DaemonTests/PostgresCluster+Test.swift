import Foundation
import PostgresCluster
import XCTest

extension PostgresCluster {
    /// A cluster for one test, in a temporary directory, stopped and deleted after it.
    static func forTest(_ test: XCTestCase) throws -> PostgresCluster {
        let cluster = try PostgresCluster(directory: NSTemporaryDirectory() + "crmd-pg-\(UUID().uuidString)")
        test.addTeardownBlock {
            try? cluster.stop(mode: "immediate")
            try? FileManager.default.removeItem(atPath: cluster.directory)
        }
        return cluster
    }
}
