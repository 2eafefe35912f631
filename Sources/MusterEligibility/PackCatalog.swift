import MusterCore

/// Every stored version of every instrument, indexed by the states they apply to, answering which version of each
/// instrument is in force on a date.
///
/// The version in force on a date is the newest version whose window has opened by then: an amendment takes over
/// from the day it starts, and a rescission (a version whose window ends) ends the instrument. Before any version
/// opens, the first version is used, so that an evaluation explains that the order was not yet in force.
public struct PackCatalog: Sendable {
    /// Versions of one instrument, newest first.
    private struct Instrument: Sendable {
        var versions: [RulePack]
    }

    private let byState: [String: [Instrument]]
    /// Every version, in instrument id then version order.
    public let all: [RulePack]

    /// Builds the catalog. Versions of one instrument share its `id` and differ in `version`.
    public init(_ packs: [RulePack]) {
        var grouped: [String: [RulePack]] = [:]
        for pack in packs { grouped[pack.id, default: []].append(pack) }
        var byState: [String: [Instrument]] = [:]
        for id in grouped.keys.sorted() {
            let instrument = Instrument(versions: grouped[id]!.sorted { $0.version > $1.version })
            // A state is served by every state any version applies to, so a later version that widens or narrows
            // the states is still found; the engine checks `appliesTo` of the chosen version.
            var states = Set<String>()
            for version in instrument.versions { states.formUnion(version.appliesTo) }
            for state in states { byState[state, default: []].append(instrument) }
        }
        self.byState = byState
        self.all = packs.sorted { ($0.id, $0.version) < ($1.id, $1.version) }
    }

    /// An empty catalog.
    public static let empty = PackCatalog([])

    /// The states any instrument applies to, sorted.
    public var states: [String] { byState.keys.sorted() }

    /// Whether any instrument applies to `state`.
    public func covers(state: String) -> Bool { byState[state] != nil }

    /// For each instrument that applies to `state`, the version in force on `date` (see the type's rule).
    public func packs(for state: String, on date: CalendarDate) -> [RulePack] {
        guard let instruments = byState[state] else { return [] }
        return instruments.map { instrument in
            instrument.versions.first { $0.effectiveFrom <= date } ?? instrument.versions.last!
        }
    }

    /// Every version of one instrument, oldest first.
    public func versions(of id: String) -> [RulePack] {
        all.filter { $0.id == id }
    }

    /// Evaluates `facts` for `state` on `date` against the versions in force then.
    public func evaluate(
        _ facts: EligibilityFacts, state: String, date: CalendarDate, explain: Bool = true
    ) -> Decision {
        EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs(for: state, on: date), explain: explain)
    }
}
