import CRMEvents
import EventStore
import JSONKit

/// `funnel.report`: how deals move through a pipeline's stages.
extension CRMQueries {
    /// Per stage, deals that entered, left, were lost from it, the share that went on to a later
    /// stage, the median days spent in it; and the median days from open to won.
    func funnel(_ a: FunnelArgs) throws -> JSON {
        let from = try micros(a.from, "/from")
        let to = try micros(a.to, "/to")
        return try read { txn in
            let pipelineId = a.pipelineId ?? "default"
            let stages = try txn.row(CRMFacts.pipelines, Key.of(.text(pipelineId)))?.stages ?? defaultPipelineStages
            var tally = FunnelTally(stages: stages, from: from, to: to)
            for (_, deal) in try txn.rows(CRMFacts.deals) where deal.pipelineId == pipelineId {
                guard a.agentId.map({ $0 == deal.agentId }) ?? true, a.branchId.map({ $0 == deal.branchId }) ?? true,
                    a.source.map({ $0 == deal.channel }) ?? true
                else { continue }
                tally.count(deal)
            }
            return .object([
                "pipelineId": .string(pipelineId), "from": CRMQueries.time(from), "to": CRMQueries.time(to),
                "deals": .int(Int64(tally.deals)), "stages": .array(stages.map(tally.row)),
                "won": .int(Int64(tally.toClose.count)),
                "medianDaysToClose": CRMQueries.median(tally.toClose),
            ])
        }
    }

    static func median(_ values: [Double]) -> JSON {
        guard !values.isEmpty else { return .null }
        let sorted = values.sorted()
        let middle = sorted.count / 2
        let value = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        return .double((value * 10).rounded() / 10)
    }

    static func share(_ part: Int, _ whole: Int) -> JSON {
        whole == 0 ? .null : .double((Double(part) / Double(whole) * 1000).rounded() / 10)
    }
}

/// The funnel's counts over [from, to): what each deal's stage history contributes.
private struct FunnelTally {
    let order: [String: Int]
    let from: Int64
    let to: Int64
    var entered: [String: Int] = [:], left: [String: Int] = [:], lost: [String: Int] = [:],
        advanced: [String: Int] = [:]
    var days: [String: [Double]] = [:]
    var toClose: [Double] = []
    var deals = 0

    init(stages: [String], from: Int64, to: Int64) {
        order = Dictionary(uniqueKeysWithValues: stages.enumerated().map { ($1, $0) })
        self.from = from
        self.to = to
    }

    /// Whether `later` is progress from `stage`: a later stage of the pipeline, or won.
    func advances(_ later: String, from stage: String) -> Bool {
        later != "lost" && ((order[later] ?? -1) > (order[stage] ?? Int.max) || later == "won")
    }

    mutating func count(_ deal: DealRow) {
        let history = deal.history
        var counted = false
        for (index, step) in history.enumerated() {
            if step.at >= from, step.at < to {
                entered[step.stage, default: 0] += 1
                counted = true
                if history[(index + 1)...].contains(where: { advances($0.stage, from: step.stage) }) {
                    advanced[step.stage, default: 0] += 1
                }
            }
            guard index + 1 < history.count else { continue }
            let next = history[index + 1]
            guard next.at >= from, next.at < to else { continue }
            left[step.stage, default: 0] += 1
            if next.stage == "lost" { lost[step.stage, default: 0] += 1 }
            days[step.stage, default: []].append(Double(next.at - step.at) / Double(CRMQueries.day))
        }
        if counted { deals += 1 }
        if deal.outcome == "won", let closed = deal.closedMicros, closed >= from, closed < to {
            toClose.append(Double(closed - deal.openedMicros) / Double(CRMQueries.day))
        }
    }

    func row(_ stage: String) -> JSON {
        .object([
            "stage": .string(stage), "entered": .int(Int64(entered[stage] ?? 0)), "left": .int(Int64(left[stage] ?? 0)),
            "lost": .int(Int64(lost[stage] ?? 0)),
            "conversionToNext": ["won", "lost"].contains(stage)
                ? .null : CRMQueries.share(advanced[stage] ?? 0, entered[stage] ?? 0),
            "medianDaysInStage": CRMQueries.median(days[stage] ?? []),
        ])
    }
}
