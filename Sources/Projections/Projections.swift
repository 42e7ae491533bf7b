/// The read models crmd keeps, in the order the projector folds them.
public enum Projections {
    /// Every projection of SPEC §6's queries.
    public static let all: [any Projection] = [CustomerTimeline(), EventCounts()]
}
