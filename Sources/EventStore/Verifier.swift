import Foundation

/// The first thing `verify` found wrong: where, in which database, and what.
public struct VerifyProblem: Error, Sendable, Equatable, CustomStringConvertible {
    /// The log position at fault (the event, or the event an index entry points to).
    public var position: Position?
    /// The database holding the bad entry: `events`, `streams`, `requests` or `meta`.
    public var database: String
    /// What does not check out, for a person.
    public var reason: String

    public var description: String {
        let place = position.map { "position \($0)" } ?? "the log"
        return "\(place) (\(database)): \(reason)"
    }
}

/// What `verify` checked and, when something is wrong, the first problem.
public struct VerifyReport: Sendable {
    /// Events checked: positions 1 through `headPosition`.
    public var events: UInt64
    /// Streams found.
    public var streams: Int
    /// Request ids checked.
    public var requests: Int
    /// The last position checked (the head when verify started).
    public var headPosition: Position
    /// The hash of that event, committing to the whole log.
    public var headHash: EventHash
    /// The first problem, or nil when the whole log and every index check out.
    public var problem: VerifyProblem?

    /// True when nothing is wrong.
    public var isValid: Bool { problem == nil }
}

extension EventStore {
    /// Walks the log and every index and reports the first position that does not check out.
    ///
    /// Checks, for positions 1 through the head at the start: positions are gap-free and match
    /// their keys; every event's prevHash is its predecessor's hash and its hash is the SHA-256 of
    /// its stored bytes; recordedAt never decreases; stream versions are gap-free from 1; the
    /// stream index, the stream count and the request index agree with the events, in both
    /// directions. Appends may go on meanwhile: the walk reads in batches and ignores what
    /// was written after it started.
    public func verify(
        batchSize: Int = 8192, progress: ((_ done: Position, _ total: Position) -> Void)? = nil
    ) throws -> VerifyReport {
        let databases = databases
        let head = try self.head()
        var report = VerifyReport(events: 0, streams: 0, requests: 0, headPosition: head.position, headHash: head.hash)
        var walk = ForwardWalk()
        var next: Position = 1
        while next <= head.position && report.problem == nil {
            try EventStore.storageCall {
                try environment.read { txn in
                    try walk.check(from: next, to: min(head.position, next + UInt64(batchSize) - 1), txn, databases)
                }
            }
            report.problem = walk.problem
            next = walk.expected
            progress?(walk.expected - 1, head.position)
        }
        report.events = (walk.expected - 1).rawValue
        report.streams = walk.lastVersions.count
        report.requests = walk.requestsStarted
        if report.problem == nil {
            report.problem = try EventStore.storageCall {
                try environment.read { txn in try walk.checkIndexes(txn, databases) }
            }
        }
        return report
    }
}

/// The state of a verification pass, carried from batch to batch.
private struct ForwardWalk {
    var expected: Position = 1
    var previousHash = EventHash.genesis
    var previousTime = Timestamp(microsecondsSince1970: .min)
    var lastVersions: [StreamName: StreamVersion] = [:]
    var requestsStarted = 0
    var previousRequestId: String?
    var problem: VerifyProblem?

    private mutating func fail(_ position: Position?, _ database: String, _ reason: String) {
        if problem == nil { problem = VerifyProblem(position: position, database: database, reason: reason) }
    }

    /// Checks positions `from...to` in one read transaction; stops at the first problem.
    mutating func check(from: Position, to: Position, _ txn: LMDBTransaction, _ databases: LogDatabases) throws {
        let indexed = try UnindexedTail.indexedThrough(txn, databases)
        try txn.withCursor(databases.events) { cursor in
            var move = CursorMove.atOrAfter(IndexKeys.position(from))
            while problem == nil && expected <= to {
                let found: Bool? = try cursor.move(move) { key, value in
                    prefetchNextRecord(before: key)
                    try checkEvent(key: key, value: value, indexed: indexed, txn, databases)
                    return true
                }
                if found == nil { fail(expected, "events", "missing: the log ends at position \(expected - 1)") }
                move = .next
            }
        }
    }

    private mutating func checkEvent(
        key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, indexed: Position,
        _ txn: LMDBTransaction, _ databases: LogDatabases
    ) throws {
        guard let position = IndexKeys.position(key) else {
            return fail(expected, "events", "an entry has a \(key.count)-byte key instead of an 8-byte position")
        }
        guard position == expected else {
            return fail(expected, "events", "missing: the next stored position is \(position)")
        }
        let event: RecordedEvent
        do {
            event = try EventStore.decode(value, at: position)
        } catch let error as StoreError {
            if case .corrupted(_, let reason) = error { return fail(position, "events", reason) }
            throw error
        }
        guard chains(event, stored: value, at: position),
            try streamIndexAgrees(event, at: position, indexed: indexed, txn, databases),
            try requestIndexAgrees(event, at: position, indexed: indexed, txn, databases)
        else { return }
        previousRequestId = event.requestId
        lastVersions[event.stream] = event.version
        previousHash = event.hash
        previousTime = event.recordedAt
        expected = position + 1
    }

    /// Whether the event follows the one before: its prevHash, its own hash, its time and its
    /// stream's version.
    private mutating func chains(
        _ event: RecordedEvent, stored value: UnsafeRawBufferPointer, at position: Position
    )
        -> Bool
    {
        guard event.prevHash == previousHash else {
            fail(
                position, "events",
                "prevHash \(event.prevHash) is not the hash of position \(position - 1) (\(previousHash))")
            return false
        }
        let computed = EventCodec.computedHash(value)
        guard computed == event.hash else {
            fail(
                position, "events",
                "stored bytes hash to \(computed), not to the recorded \(event.hash): the event was altered")
            return false
        }
        guard event.recordedAt >= previousTime else {
            fail(
                position, "events",
                "recordedAt \(event.recordedAt) is earlier than the previous event's \(previousTime)")
            return false
        }
        let lastVersion = lastVersions[event.stream] ?? 0
        guard event.version == lastVersion + 1 else {
            fail(
                position, "events", "stream '\(event.stream)' jumps from version \(lastVersion) to \(event.version)")
            return false
        }
        return true
    }

    /// Whether the stream index holds the event exactly when it lies within the indexed boundary.
    private mutating func streamIndexAgrees(
        _ event: RecordedEvent, at position: Position, indexed: Position, _ txn: LMDBTransaction,
        _ databases: LogDatabases
    ) throws -> Bool {
        // Up to `meta/indexed` every event is in the indexes; after it, none may be.
        let indexEntry = try EventStore.position(of: event.stream, version: event.version, txn, databases)
        if position <= indexed {
            guard indexEntry == position else {
                let found = indexEntry.map { "position \($0)" } ?? "nothing"
                fail(position, "streams", "'\(event.stream)' version \(event.version) is indexed as \(found)")
                return false
            }
        } else if let indexEntry {
            fail(
                position, "streams",
                "'\(event.stream)' version \(event.version) is indexed (as \(indexEntry)) beyond the indexed boundary \(indexed)"
            )
            return false
        }
        return true
    }

    /// Whether the request index holds the event's request exactly when it lies within the
    /// indexed boundary, at the event's positions.
    private mutating func requestIndexAgrees(
        _ event: RecordedEvent, at position: Position, indexed: Position, _ txn: LMDBTransaction,
        _ databases: LogDatabases
    ) throws -> Bool {
        if let requestId = event.requestId {
            let result = try txn.withValue(databases.requests, key: Array(requestId.utf8)) {
                $0.flatMap(IndexKeys.decodeResult)
            }
            if position <= indexed {
                guard let result else {
                    fail(position, "requests", "request id '\(requestId)' is not in the request index")
                    return false
                }
                guard
                    result.streams.contains(where: {
                        $0.stream == event.stream && (($0.firstPosition)...($0.lastPosition)).contains(position)
                            && (($0.firstVersion)...($0.lastVersion)).contains(event.version)
                    })
                else {
                    fail(
                        position, "requests",
                        "request '\(requestId)' is indexed with other positions for '\(event.stream)'")
                    return false
                }
            } else if let result {
                // A request is written in one commit, so it lies wholly on one side of the boundary.
                fail(
                    position, "requests",
                    "request id '\(requestId)' is indexed (at \(result.firstPosition)) although this event lies beyond the indexed boundary \(indexed)"
                )
                return false
            }
            if requestId != previousRequestId { requestsStarted += 1 }
        }
        return true
    }

    /// Walks the indexes in one transaction: each entry lies within the indexed boundary and
    /// points at a matching event, and the stream count agrees with the log.
    func checkIndexes(_ txn: LMDBTransaction, _ databases: LogDatabases) throws -> VerifyProblem? {
        func problem(_ position: Position?, _ database: String, _ reason: String) -> VerifyProblem {
            VerifyProblem(position: position, database: database, reason: reason)
        }
        let indexed = try UnindexedTail.indexedThrough(txn, databases)
        // Stream index: every entry lies within the indexed boundary and names an event with that stream and version.
        var streamsStarted = 0
        let streamProblem: VerifyProblem? = try txn.withCursor(databases.streams) { cursor in
            var move = CursorMove.first
            while let entry = try cursor.move(
                move, { key, value in (IndexKeys.parseStreamEntry(key), IndexKeys.position(value)) })
            {
                move = .next
                guard let (stream, version) = entry.0, let position = entry.1 else {
                    return problem(nil, "streams", "an entry is malformed")
                }
                if version == 1 { streamsStarted += 1 }
                guard position <= indexed else {
                    return problem(
                        position, "streams",
                        "'\(stream)' version \(version) is indexed beyond the indexed boundary \(indexed)")
                }
                guard let event = try EventStore.event(at: position, txn, databases) else {
                    return problem(
                        position, "streams", "'\(stream)' version \(version) points to a position that does not exist")
                }
                guard event.stream == stream, event.version == version else {
                    return problem(
                        position, "streams",
                        "entry '\(stream)' version \(version) points to '\(event.stream)' version \(event.version)")
                }
            }
            return nil
        }
        if let streamProblem { return streamProblem }
        try UnindexedTail.scan(txn, databases, after: indexed) { _, _, version, _, _ in
            if version == 1 { streamsStarted += 1 }
        }
        let recordedStreams = try LogTail.streamCount(txn, databases)
        if recordedStreams != UInt64(streamsStarted) {
            return problem(
                nil, "meta", "the stream count says \(recordedStreams) but the log holds \(streamsStarted) streams")
        }

        // Request index: each request starts at an event carrying its id.
        let requestProblem: VerifyProblem? = try txn.withCursor(databases.requests) { cursor in
            var move = CursorMove.first
            while let entry = try cursor.move(
                move, { key, value in (String(decoding: key, as: UTF8.self), IndexKeys.decodeResult(value)) })
            {
                move = .next
                let (requestId, result) = entry
                guard let result else { return problem(nil, "requests", "the entry for '\(requestId)' is malformed") }
                guard result.firstPosition <= indexed else {
                    return problem(
                        result.firstPosition, "requests",
                        "request '\(requestId)' is indexed beyond the indexed boundary \(indexed)")
                }
                for stream in result.streams {
                    guard let event = try EventStore.event(at: stream.firstPosition, txn, databases) else {
                        return problem(
                            stream.firstPosition, "requests", "request '\(requestId)' points to a missing position")
                    }
                    guard event.requestId == requestId, event.stream == stream.stream,
                        event.version == stream.firstVersion
                    else {
                        return problem(
                            stream.firstPosition, "requests",
                            "request '\(requestId)' points to an event of another request")
                    }
                }
            }
            return nil
        }
        return requestProblem
    }
}

/// The outcome of the last verify of a log, kept beside it (`last-verify.json` in the log's
/// directory) so status pages and auditors see when the chain was last checked and by whom.
public struct VerifyRecord: Codable, Sendable, Equatable {
    /// When the verify finished.
    public var finishedAt: String
    /// Whether the whole log and every index checked out.
    public var ok: Bool
    /// Events checked.
    public var events: UInt64
    /// The last position checked.
    public var headPosition: UInt64
    /// That event's hash, in hex.
    public var headHash: String
    /// The first problem, for a person; nil when ok.
    public var problem: String?
    /// Who ran it: the command line (`crmd verify`) or a principal through the daemon.
    public var by: String

    /// The record of `report`, finished now.
    public init(_ report: VerifyReport, by: String, finishedAt: Timestamp = .now()) {
        self.finishedAt = finishedAt.rfc3339
        ok = report.isValid
        events = report.events
        headPosition = report.headPosition.rawValue
        headHash = report.headHash.hex
        problem = report.problem?.description
        self.by = by
    }

    static func file(_ directory: String) -> String { directory + "/last-verify.json" }

    /// Writes the record beside the log in `directory` (atomically: a reader never sees half).
    public func save(in directory: String) throws {
        let data = try JSONEncoder().encode(self)
        try data.write(to: URL(fileURLWithPath: VerifyRecord.file(directory)), options: .atomic)
    }

    /// The last record saved beside the log in `directory`, if any verify ever ran.
    public static func load(from directory: String) -> VerifyRecord? {
        guard let data = FileManager.default.contents(atPath: file(directory)) else { return nil }
        return try? JSONDecoder().decode(VerifyRecord.self, from: data)
    }
}
