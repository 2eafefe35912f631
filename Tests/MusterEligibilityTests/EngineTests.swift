import MusterCore
import Testing
@testable import MusterEligibility

@Suite struct EngineTests {
    /// A pack's YAML up to its `provisions:` key: state ZZ, open from 2020-01-01.
    static func pack(id: String) -> String {
        """
        id: \(id)
        state: ZZ
        title: t
        instrument: {type: eo, number: "9"}
        effective: {from: 2020-01-01, to: open}
        version: 1
        sources: [{citation: c, grade: S}]
        provisions:

        """
    }

    /// The lists in a "not in" reason are sorted whatever the pack's order, and a reason never holds doubled spaces.
    @Test func reasonsListCoverageSortedAndSpacedOnce() throws {
        let yaml = Self.pack(id: "TEST-LISTS") + """
              - id: "§a"
                covers: {categories: [retired, licensed], professions: [physician, pharmacist, nurse_practitioner]}
                grants: {settings: [any]}
                grade: V
              - id: "§b"
                covers: {categories: [student]}
                criteria: {eq: {field: homeState, value: NY}}
                grants: {settings: [any]}
                grade: V
            """
        let pack = try RulePack.load(yaml: yaml, file: "lists.yaml")
        let img = EligibilityFacts(category: .img, profession: "respiratory_therapist", homeState: "ZZ")
        #expect(EligibilityEngine.evaluate(img, state: "ZZ", date: d("2021-01-01"), packs: [pack]).reasons == [
            "category img not in [licensed, retired] (TEST-LISTS §a)",
            "profession respiratory_therapist not in [nurse_practitioner, pharmacist, physician] (TEST-LISTS §a)",
            "category img not in [student] (TEST-LISTS §b)",
            "home state ZZ ≠ NY required (TEST-LISTS §b)",
        ])
        let spaced = EligibilityFacts(category: .student, profession: "medical_student", homeState: " N  J ")
        #expect(EligibilityEngine.evaluate(spaced, state: "ZZ", date: d("2021-01-01"), packs: [pack]).reasons == [
            "category student not in [licensed, retired] (TEST-LISTS §a)",
            "profession medical_student not in [nurse_practitioner, pharmacist, physician] (TEST-LISTS §a)",
            "home state N J ≠ NY required (TEST-LISTS §b)",
        ])
    }

    @Test func severalGrantsLeastRestrictivePrimary() throws {
        let yaml = Self.pack(id: "TEST-MULTI") + """
              - id: "§a"
                covers: {categories: [licensed]}
                grants: {settings: [hospital], conditions: [hospital_only, supervision_required]}
                grade: V
              - id: "§b"
                covers: {categories: [licensed]}
                grants: {settings: [hospital], conditions: [valid_for_duration_of_emergency]}
                grade: V
              - id: "§c"
                covers: {categories: [licensed]}
                grants: {settings: [any], conditions: [temporary_license_application_required]}
                grade: U
                uncertain: true
              - id: "§d"
                covers: {categories: [img]}
                grants: {settings: [any]}
                grade: V
            """
        let p = try RulePack.load(yaml: yaml, file: "m.yaml")
        let f = EligibilityFacts(category: .licensed, profession: "physician", homeState: "ZZ")
        let dec = EligibilityEngine.evaluate(f, state: "ZZ", date: d("2021-01-01"), packs: [p])
        #expect(dec.eligible)
        #expect(dec.grants.map(\.provision) == ["§c", "§b", "§a"])   // 1 cond any-setting, 1 cond hospital, 2 conds
        #expect(dec.primary?.provision == "§c")
        #expect(dec.conditions == ["hospital_only", "supervision_required", "temporary_license_application_required", "valid_for_duration_of_emergency"])
        #expect(dec.uncertain)
        #expect(dec.reasons == ["category licensed not in [img] (TEST-MULTI §d)"])
        // Other state: nothing applies.
        #expect(!EligibilityEngine.evaluate(f, state: "NY", date: d("2021-01-01"), packs: [p]).eligible)
    }

    @Test func reasonsTextForGME() {
        let dec = EligibilityEngine.evaluate(imgFacts(gme: 11), state: "NY", date: d("2020-04-01"), packs: shippedPacks)
        #expect(!dec.eligible)
        #expect(dec.reasons.contains("US GME 11 months < 12 required (NY-EO-202.10 §2)"), "\(dec.reasons)")
    }

    @Test func globalBlocks() {
        var f = imgFacts(gme: 24)
        f.disciplinary = true
        let dec = EligibilityEngine.evaluate(f, state: "NY", date: d("2020-04-01"), packs: shippedPacks)
        #expect(!dec.eligible)
        #expect(dec.reasons.contains("unresolved disciplinary action blocks eligibility (NY-EO-202.10 §2)"))
    }

    @Test func allShippedPacksLoad() {
        #expect(shippedPacks.count == 39)
        for p in shippedPacks { #expect(!p.sources.isEmpty); #expect(!p.provisions.isEmpty) }
    }
}

@Suite struct FastPathTests {
    @Test func explainFalseAgreesWithExplainTrue() {
        let people: [EligibilityFacts] = [
            imgFacts(gme: 11), imgFacts(gme: 12), imgFacts(gme: 24, years: 6), imgFacts(gme: 30, standing: .revoked),
            EligibilityFacts(category: .licensed, profession: "registered_nurse", homeState: "TX", licenses: [lic("TX", "registered_nurse", .active, multistate: true)]),
            EligibilityFacts(category: .retired, profession: "physician", homeState: "NJ", licenses: [lic("NJ", .lapsed, lapsed: "2016-01-10")]),
        ]
        for f in people {
            for s in ["NY", "NJ", "MA", "IL", "CT", "CO", "NV", "MI", "AZ"] {
                for date in ["2020-03-22", "2020-04-20", "2020-08-01", "2021-01-10", "2022-06-01"] {
                    let a = EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks, requirements: true)
                    let b = EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks, explain: false)
                    #expect(a.grants == b.grants && a.primary == b.primary && a.conditions == b.conditions && b.reasons.isEmpty)
                    #expect(b.unmet.isEmpty)
                    // A check's reply (reasons, no requirements) gives the same reasons and builds no requirements.
                    let reply = EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks)
                    #expect(reply.grants == a.grants && reply.reasons == a.reasons && reply.unmet.isEmpty)
                    // The blockers report's path gives the same unmet requirements as the full explanation.
                    let c = EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks, explain: false, requirements: true)
                    #expect(c.grants == a.grants && c.unmet == a.unmet && c.reasons.isEmpty)
                }
            }
        }
    }
}
