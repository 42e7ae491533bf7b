import EventStore

/// The read models crmd keeps, in the order the projector folds them.
public enum Projections {
    /// Every projection behind SPEC §6's queries; `keys` opens personal data for indexing.
    public static func all(keys: KeyStore) throws -> [any Projection] {
        [CustomerTimeline(), EventCounts(), try CRMFacts(keys: keys)]
    }
}
