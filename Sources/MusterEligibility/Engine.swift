import MusterCore
import Foundation

/// One provision that grants practice authority.
public struct Grant: Sendable, Hashable, CustomStringConvertible {
    public let instrument: String, provision: String
    public let settings: [Setting], conditions: [String]
    public let grade: SourceGrade, uncertain: Bool
    public var description: String { "\(instrument) \(provision)" }
    /// The `instrument` of a grant that rests on the volunteer's own active licence in the state, not on an order.
    public static let ordinaryLicensure = "ordinary-licensure"
    /// Breadth of settings: `any` counts as all four settings.
    var breadth: Int { settings.contains(.any) ? Setting.allCases.count : Set(settings).count }
}

public struct Decision: Sendable {
    public let eligible: Bool
    /// Every granting provision, primary first.
    public let grants: [Grant]
    /// Least restrictive grant: fewest conditions, then broadest settings, then best source grade, then instrument/provision id.
    public let primary: Grant?
    /// Union of conditions across all grants, sorted.
    public let conditions: [String]
    public let uncertain: Bool
    /// Why each failing provision failed, in plain words, each ending "(instrument provision)".
    public let reasons: [String]
    /// For provisions that cover this volunteer (category, profession and window match) but do not grant: each
    /// requirement not met, without the volunteer's values, so that requirements can be counted across volunteers.
    /// Built only when `requirements` was asked for; empty when the volunteer is eligible.
    public let unmet: [UnmetRequirement]
}

/// A requirement of a provision that a volunteer does not meet, stated without the volunteer's values.
public struct UnmetRequirement: Sendable, Hashable, CustomStringConvertible {
    public let instrument: String
    public let provision: String
    /// What is required, e.g. `US GME ≥ 12 months`.
    public let requirement: String
    public var description: String { "\(requirement) (\(instrument) \(provision))" }
}

public enum EligibilityEngine {
    /// Evaluate `facts` for practice in `state` on `date` against `packs`. Pure and deterministic.
    /// With `explain: false` failing provisions are skipped without building reason strings (fast screening path),
    /// and `reasons` is empty. `unmet` is built only when `requirements` is true, with or without the reasons (the
    /// blockers report asks for it without them); a single check's reply, which shows only the reasons, does not pay
    /// for it.
    public static func evaluate(_ facts: EligibilityFacts, state: String, date: CalendarDate, packs: [RulePack],
                                explain: Bool = true, requirements: Bool = false) -> Decision {
        var grants: [Grant] = []
        var reasons: [String] = []
        // Global blocks (orders.md §0.5): revoked/suspended licence anywhere, restricted/suspended/revoked home-country licence,
        // unresolved disciplinary action.
        var blocks: [String] = []
        var blockRequirements: [String] = []
        for l in facts.licenses where l.status == .revoked || l.status == .suspended {
            blocks.append("licence \(l.jurisdiction) \(l.type) is \(l.status.rawValue), which blocks eligibility")
        }
        if !blocks.isEmpty { blockRequirements.append("no revoked or suspended licence") }
        if facts.disciplinary {
            blocks.append("unresolved disciplinary action blocks eligibility")
            blockRequirements.append("no unresolved disciplinary action")
        }
        if let s = facts.img?.homeCountryLicenseStanding, s == .restricted || s == .suspended || s == .revoked {
            blocks.append("home-country licence standing \(s.rawValue), which blocks eligibility")
            blockRequirements.append("home-country licence not restricted, suspended or revoked")
        }
        var unmet: [UnmetRequirement] = []
        // Ordinary licensure needs no emergency order: an active, unexpired licence issued by the state itself.
        if blocks.isEmpty,
            let own = facts.licenses.first(where: { license in
                license.jurisdiction == state && license.status == .active && (license.expires.map { $0 >= date } ?? true)
            })
        {
            grants.append(
                Grant(
                    instrument: Grant.ordinaryLicensure, provision: "\(state) \(own.type) licence", settings: [.any],
                    conditions: [], grade: .V, uncertain: false))
        }
        var ctx = EvalContext(facts: facts, date: date, license: nil)
        for pack in packs where pack.appliesTo.contains(state) {
            var packWindow: String? = nil
            if let s = pack.signed, date < s { packWindow = "\(date) is before \(pack.id) was signed (\(s))" }
            for p in pack.provisions {
                if !explain {
                    let from = p.effectiveFrom ?? pack.effectiveFrom, to = p.effectiveTo ?? pack.effectiveTo
                    let covered = packWindow == nil && date >= from && (to.map { date <= $0 } ?? true)
                        && (p.categories?.contains(facts.category) ?? true) && (p.professions?.contains(facts.profession) ?? true)
                    var ok = covered && (p.allowAdverse || blocks.isEmpty)
                    if ok, let cr = p.criteria { ok = cr.holds(&ctx) }
                    if ok {
                        grants.append(Grant(instrument: pack.id, provision: p.id, settings: p.settings, conditions: p.conditions,
                                            grade: p.grade, uncertain: p.uncertain))
                    } else if covered && requirements {
                        var unmetHere = p.allowAdverse ? [] : blockRequirements
                        if let cr = p.criteria { unmetHere.append(contentsOf: cr.unmet(&ctx)) }
                        for r in unmetHere { unmet.append(UnmetRequirement(instrument: pack.id, provision: p.id, requirement: r)) }
                    }
                    continue
                }
                var why: [String] = []
                var covered = true
                if let w = packWindow { why.append(w); covered = false } else {
                    let from = p.effectiveFrom ?? pack.effectiveFrom
                    let to = p.effectiveTo ?? pack.effectiveTo
                    if date < from { why.append("\(date) is before the window opens (\(from))"); covered = false }
                    if let to, date > to { why.append("\(date) is after the window closed (\(to))"); covered = false }
                }
                if let c = p.categories, !c.contains(facts.category) {
                    covered = false
                    why.append("category \(facts.category.rawValue) not in [\(p.categoriesText ?? "")]")
                }
                if let pr = p.professions, !pr.contains(facts.profession) {
                    covered = false
                    why.append("profession \(facts.profession) not in [\(p.professionsText ?? "")]")
                }
                if !p.allowAdverse { why.append(contentsOf: blocks) }
                if why.isEmpty, let cr = p.criteria, !cr.holds(&ctx) { why.append(contentsOf: cr.reasons(&ctx)) }
                else if !why.isEmpty, let cr = p.criteria { why.append(contentsOf: cr.reasons(&ctx)) }
                if why.isEmpty {
                    grants.append(Grant(instrument: pack.id, provision: p.id, settings: p.settings, conditions: p.conditions,
                                        grade: p.grade, uncertain: p.uncertain))
                } else {
                    for w in why { reasons.append(w + p.reasonTag) }
                    if covered && requirements {
                        var needed = p.allowAdverse ? [] : blockRequirements
                        if let cr = p.criteria { needed.append(contentsOf: cr.unmet(&ctx)) }
                        for r in needed { unmet.append(UnmetRequirement(instrument: pack.id, provision: p.id, requirement: r)) }
                    }
                }
            }
        }
        grants.sort(by: lessRestrictive)
        var conds = Set<String>()
        for g in grants { conds.formUnion(g.conditions) }
        return Decision(eligible: !grants.isEmpty, grants: grants, primary: grants.first, conditions: conds.sorted(),
                        uncertain: grants.contains { $0.uncertain }, reasons: reasons,
                        unmet: grants.isEmpty ? unmet : [])
    }

    /// The primary-selection order: fewer conditions, broader settings, better grade, certain before uncertain, then ids.
    static func lessRestrictive(_ a: Grant, _ b: Grant) -> Bool {
        if a.conditions.count != b.conditions.count { return a.conditions.count < b.conditions.count }
        if a.breadth != b.breadth { return a.breadth > b.breadth }
        if a.uncertain != b.uncertain { return !a.uncertain }
        if a.grade != b.grade { return a.grade < b.grade }
        if a.instrument != b.instrument { return a.instrument < b.instrument }
        return a.provision < b.provision
    }

    /// Loads every `*.yaml` in a directory (sorted). Throws every rejected file's errors together; valid files are not returned partially.
    public static func loadPacks(directory: String) throws -> [RulePack] {
        let (files, failures) = RulePackFile.compile(try RulePackFile.paths(inDirectory: directory))
        if !failures.isEmpty { throw PackDirectoryError(errors: failures) }
        return files.map(\.pack)
    }
}

public struct PackDirectoryError: Error, CustomStringConvertible {
    public let errors: [RulePackFile.Failure]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}
