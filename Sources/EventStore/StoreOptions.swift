/// How a store is opened. The defaults suit the daemon; tests shrink the map to exercise growth.
public struct StoreOptions: Sendable {
    /// Size of the memory map at open; it grows by itself when full.
    public var initialMapSize: Int = 64 << 20
    /// The map never grows beyond this; appends then fail with `mapFull`.
    public var maxMapSize: Int = 1 << 40
    /// LMDB reader slots: how many read transactions may be open at once across processes.
    public var maxReaders: UInt32 = 1024
    /// At most this many append requests share one commit.
    public var maxRequestsPerCommit: Int = 8192
    /// The largest payload accepted for one event.
    public var maxEventSize: Int = 8 << 20
    /// The writer merges index entries into LMDB once this many events are unindexed. Larger
    /// merges write each index page less often; readers scan up to this many events.
    public var indexMergeThreshold: Int = 4096
    /// The writer remembers the current version of up to this many streams, sparing an index lookup per append.
    public var streamVersionCacheLimit: Int = 250_000
    /// Open for reading only (offline tools on a served directory).
    public var readOnly: Bool = false
    /// Where `recordedAt` comes from; tests pin it.
    public var clock: @Sendable () -> Timestamp = { Timestamp.now() }

    /// The defaults.
    public init() {}

    /// Names, request ids and other envelope strings are limited so that index keys fit LMDB's 511-byte key limit.
    public static let maxNameLength = 400
}
