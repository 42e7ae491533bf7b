// Appends to the log in a loop until it is killed, printing a line for every append that
// returned, so a test can SIGKILL it at any moment and check that every acknowledged append
// survived and nothing half-written did.
//
// usage: store-crash-child DIR SEED
// prints: ack <requestId> <firstPosition> <lastPosition> <eventCount>
//
// `store-crash-child project DIR` instead folds DIR/log into DIR/projections in small batches,
// over and over, printing each checkpoint, so a test can kill the projector mid-batch.
// `store-crash-child bulk-load DIR` commits rows into a key-value store in a bulk load until
// killed, so a test can check that the store then starts empty.
import CLMDB
import CRMEvents
import EventStore
import Foundation
import JSONKit
import KeyValue
import Projections

let arguments = CommandLine.arguments
if arguments.count == 3, arguments[1] == "hold-reader" {
    // Takes an LMDB reader slot and keeps it until killed, like a reporting tool that died mid-read.
    holdReaderSlot(arguments[2])
}
if arguments.count == 3, arguments[1] == "project" {
    projectForever(arguments[2])
}
if arguments.count == 3, arguments[1] == "bulk-load" {
    bulkLoadForever(arguments[2])
}

/// Writes one row durably, then commits rows in a bulk load (no fsync) until killed, printing
/// `loading` after the first of its commits.
func bulkLoadForever(_ directory: String) -> Never {
    do {
        let state = try KeyValueStore(directory: directory, tables: ["rows"])
        try state.write { try $0.put("rows", Array("before".utf8), Array("synced".utf8)) }
        try state.bulkLoad {
            var row = 0
            while true {
                try state.write { txn in
                    for _ in 0..<100 {
                        row += 1
                        try txn.put("rows", Array("bulk-\(row)".utf8), Array(repeating: UInt8(row % 251), count: 200))
                    }
                }
                if row == 100 { emit("loading") }
            }
        }
        exit(0)
    } catch {
        FileHandle.standardError.write(Data("bulk load failed: \(error)\n".utf8))
        exit(1)
    }
}

/// Follows the log with every projection in batches of 3 events until killed.
func projectForever(_ directory: String) -> Never {
    do {
        var options = StoreOptions()
        options.readOnly = true
        let store = try EventStore(directory: directory + "/log", options: options)
        let keys = try KeyStore(directory: directory + "/keys")
        let projector = try Projector(
            store: store, directory: directory + "/projections", projections: Projections.all(keys: keys))
        emit("projecting")
        while true {
            if try projector.catchUp(batchSize: 3) == 0 { usleep(1000) }
            emit("checkpoint \(try projector.checkpoint())")
        }
    } catch {
        FileHandle.standardError.write(Data("projector failed: \(error)\n".utf8))
        exit(1)
    }
}
guard arguments.count == 3, let seed = UInt64(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: store-crash-child DIR SEED | store-crash-child hold-reader DIR\n".utf8))
    exit(2)
}
/// Opens the environment read-only, begins a read transaction, reports it, and sleeps.
func holdReaderSlot(_ directory: String) -> Never {
    var env: OpaquePointer?
    var txn: OpaquePointer?
    guard mdb_env_create(&env) == 0, mdb_env_set_maxdbs(env, 8) == 0,
        mdb_env_open(env, directory, UInt32(MDB_RDONLY), 0o600) == 0,
        mdb_txn_begin(env, nil, UInt32(MDB_RDONLY), &txn) == 0
    else {
        FileHandle.standardError.write(Data("cannot open \(directory)\n".utf8))
        exit(1)
    }
    FileHandle.standardOutput.write(Data("reading\n".utf8))
    while true { sleep(60) }
}

/// Writes one line straight to the pipe (no buffering), so an acknowledgement is out before the next append.
func emit(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }

let store = try EventStore(
    directory: arguments[1],
    options: {
        var options = StoreOptions()
        options.initialMapSize = 1 << 20  // small, so that map growth also happens under the knife
        options.indexMergeThreshold = 64  // frequent index merges, so kills land inside them too
        return options
    }())
emit("ready \(store.headPosition)")

/// Appends forever from several tasks at once so that group commits hold many requests.
await withTaskGroup(of: Void.self) { group in
    for worker in 0..<8 {
        group.addTask {
            var random = SplitMix(seed: seed &+ UInt64(worker))
            var n = 0
            while true {
                n += 1
                let requestId = "s\(seed)-w\(worker)-\(n)"
                let count = Int(random.next() % 3) + 1
                let stream = "stream-\(random.next() % 20)"
                let note = "یادداشت‌ \(requestId) 🎉"
                let events = (1...count).map { i in
                    ProposedEvent(type: "Tested", data: Array("\(requestId) \(i)/\(count) \(note)".utf8))
                }
                do {
                    let result = try await store.append(to: StreamName(stream), events, requestId: requestId)
                    emit("ack \(requestId) \(result.firstPosition) \(result.lastPosition) \(count)")
                } catch {
                    emit("error \(requestId) \(error)")
                }
            }
        }
    }
}
