// Fuzzes the rule-pack compiler of MusterEligibility: `RulePack.load(yaml:file:)`, the one entry point that turns
// one pack file's text into a type-checked pack (musterd and musterctl load Deploy/orders with it, and ORDERS.LOAD
// compiles an uploaded pack with it), and then evaluates what compiled.
//
// Invariants:
// - any text compiles or is rejected with issues, never a crash; a rejection lists at least one issue;
// - a compiled pack is consistent (applies to its own state, window not reversed, unique provision ids);
// - a compiled pack evaluates without a crash for a spread of volunteers, states and dates (any date the protocol
//   accepts, 0001-01-01 to 9999-12-31), also when stored as a later, rescinded version in a catalog;
// - the fast screening path (`explain: false`) and the blockers path (`requirements: true`) agree with the
//   explained evaluation on eligibility, grants and unmet requirements, and a check's reply (reasons without
//   requirements) gives the same reasons and builds no requirements.
import FuzzSupport
import MusterCore
import MusterEligibility

func day(_ text: String) -> CalendarDate { CalendarDate(text)! }

let volunteers: [EligibilityFacts] = [
    EligibilityFacts(
        category: .licensed, profession: "registered_nurse", homeState: "NJ",
        licenses: [
            .init(jurisdiction: "NJ", type: "RN", status: .active, expires: day("2021-05-31"), multistate: true),
            .init(jurisdiction: "NY", type: "LPN", status: .lapsed, lapsed: day("2018-01-01")),
        ],
        credentialLevel: 2, skills: ["critical_care"]),
    EligibilityFacts(
        category: .licensed, profession: "physician", homeState: "CA",
        licenses: [.init(jurisdiction: "CA", type: "MD", status: .suspended)], disciplinary: true),
    EligibilityFacts(
        category: .img, profession: "physician", homeState: "NY",
        img: .init(usGmeMonths: 12, ecfmgCertified: true, yearsOfPractice: 6, homeCountryLicenseStanding: .good,
                   graduationDate: day("2012-07-15"))),
    EligibilityFacts(
        category: .retired, profession: "registered_nurse", homeState: "NY",
        licenses: [.init(jurisdiction: "NY", type: "RN", status: .inactive, lapsed: day("2017-06-30"))],
        retired: .init(lastClinicalPractice: day("2017-06-30"))),
    EligibilityFacts(
        category: .student, profession: "medical_student", homeState: "MA",
        student: .init(program: .medicine, graduationDate: day("2020-05-17"), graduated: false)),
    EligibilityFacts(
        category: .student, profession: "nursing_student", homeState: "NY",
        student: .init(program: .nursing, graduationDate: day("0001-01-01"), graduated: true), credentialLevel: 4),
]

let fixedDates = ["0001-01-01", "0001-02-28", "2020-04-03", "2021-12-31", "9999-12-31"].map(day)

func summary(_ decision: Decision) -> (Bool, [Grant], [UnmetRequirement]) {
    (decision.eligible, decision.grants, decision.unmet)
}

func evaluate(_ packs: [RulePack], state: String, date: CalendarDate) {
    for facts in volunteers {
        let explained = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs, requirements: true)
        let reply = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs)
        precondition(reply.grants == explained.grants && reply.reasons == explained.reasons && reply.unmet.isEmpty,
                     "the reply path (reasons without requirements) disagrees for \(facts) in \(state) on \(date)")
        let fast = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs, explain: false)
        let blockers = EligibilityEngine.evaluate(facts, state: state, date: date, packs: packs, explain: false, requirements: true)
        precondition(explained.eligible == !explained.grants.isEmpty, "eligible without grants, or the reverse")
        precondition(explained.primary == explained.grants.first, "the primary grant is not the first")
        precondition(fast.eligible == explained.eligible && fast.grants == explained.grants,
                     "the screening path disagrees: \(fast.grants) vs \(explained.grants) for \(facts) in \(state) on \(date)")
        precondition(fast.reasons.isEmpty && fast.unmet.isEmpty, "the screening path built reasons")
        precondition(summary(blockers) == summary(explained),
                     "the blockers path disagrees: \(blockers.unmet) vs \(explained.unmet) for \(facts) in \(state) on \(date)")
        if !explained.eligible {
            precondition(explained.reasons.allSatisfy { $0.hasSuffix(")") }, "a reason does not name its provision")
        }
    }
}

func check(_ pack: RulePack) {
    if pack.state != "MULTI" { precondition(pack.appliesTo.contains(pack.state), "pack does not apply to its own state") }
    if let to = pack.effectiveTo { precondition(to >= pack.effectiveFrom, "window ends before it starts") }
    precondition(!pack.provisions.isEmpty, "a pack without provisions compiled")
    precondition(Set(pack.provisions.map(\.id)).count == pack.provisions.count, "duplicate provision ids compiled")
    precondition(!pack.sources.isEmpty, "a pack without sources compiled")
    for provision in pack.provisions { _ = provision.criteriaDescription }

    let states = [pack.state] + pack.appliesTo.sorted().prefix(2) + ["ZZ"]
    let dates = fixedDates + [pack.effectiveFrom, pack.effectiveTo, pack.signed].compactMap { $0 }
    for state in Set(states).sorted() {
        for date in dates {
            evaluate([pack], state: state, date: date)
            _ = pack.isInForce(on: date)
        }
    }
    // The same pack as version 1 and a rescinded version 2 in a catalog; the rescission date may be any date.
    for rescinded in [pack.effectiveFrom, day("0001-01-01"), day("9999-12-31")] {
        let catalog = PackCatalog([pack, pack.stored(version: 2, rescindedOn: rescinded)])
        for state in catalog.states.prefix(2) {
            for date in [pack.effectiveFrom, day("2020-04-03"), day("0001-01-01")] {
                evaluate(catalog.packs(for: state, on: date), state: state, date: date)
                _ = catalog.evaluate(volunteers[0], state: state, date: date, explain: true)
            }
        }
    }
}

Fuzz.main { raw in
    let text = String(decoding: raw, as: UTF8.self)
    do throws(PackLoadError) {
        check(try RulePack.load(yaml: text, file: "fuzz.yaml"))
    } catch {
        precondition(!error.issues.isEmpty, "a pack was rejected without an issue")
        _ = error.description
    }
}
