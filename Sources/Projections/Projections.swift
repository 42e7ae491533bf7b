import EventStore
import KeyValue

/// The read models crmd keeps, in the order the projector folds them.
public enum Projections {
    /// Every projection behind the queries of docs/protocol.md; `keys` opens personal data for indexing.
    public static func all(keys: KeyStore) throws -> [any Projection] {
        [CustomerTimeline(), EventCounts(), try CRMFacts(keys: keys)]
    }
}
