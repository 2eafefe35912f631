import Foundation
import MusterCore
import MusterRegistry
import Testing

@testable import MusterEligibility

/// Choosing the version in force on a date, rescissions, value-free unmet requirements, and the facts adapter.
@Suite struct PackCatalogTests {
    func pack(_ criteria: String, from: String = "2020-03-01", to: String = "2020-12-31", version: Int, rescinded: String? = nil) throws -> RulePack {
        let yaml = packYAML(criteria: criteria).replacingOccurrences(
            of: "effective: {from: 2020-03-01, to: 2020-12-31}", with: "effective: {from: \(from), to: \(to)}")
            .replacingOccurrences(of: "signed: 2020-03-01", with: "signed: \(from)")
        return try RulePack.load(yaml: yaml, file: "t.yaml").stored(version: version, rescindedOn: rescinded.map(d))
    }

    @Test func anAmendmentTakesOverFromItsStartAndEarlierDatesKeepTheOldRule() throws {
        let v1 = try pack("{ge: {field: img.usGmeMonths, value: 12}}", version: 1)
        let v2 = try pack("{ge: {field: img.usGmeMonths, value: 6}}", from: "2020-06-01", version: 2)
        let catalog = PackCatalog([v2, v1])
        let facts = imgFacts(gme: 8)
        #expect(catalog.packs(for: "ZZ", on: d("2020-05-31")).map(\.version) == [1])
        #expect(catalog.packs(for: "ZZ", on: d("2020-06-01")).map(\.version) == [2])
        #expect(!catalog.evaluate(facts, state: "ZZ", date: d("2020-05-31")).eligible)
        #expect(catalog.evaluate(facts, state: "ZZ", date: d("2020-06-01")).eligible)
        // Before any version opens, the first one answers, saying why.
        let early = catalog.evaluate(facts, state: "ZZ", date: d("2020-02-01"))
        #expect(!early.eligible)
        #expect(early.reasons.contains { $0.contains("before TEST-1 was signed") })
        #expect(catalog.states == ["ZZ"])
        #expect(catalog.packs(for: "NY", on: d("2020-06-01")).isEmpty)
    }

    @Test func aRescissionEndsTheInstrumentTheDayBeforeAndThePastStillAnswers() throws {
        let v1 = try pack("{ge: {field: img.usGmeMonths, value: 12}}", version: 1)
        let v2 = try pack("{ge: {field: img.usGmeMonths, value: 12}}", version: 2, rescinded: "2020-05-01")
        #expect(v2.effectiveTo == d("2020-04-30"))
        #expect(v2.rescindedOn == d("2020-05-01"))
        #expect(v2.revision == 1)
        let catalog = PackCatalog([v1, v2])
        let facts = imgFacts(gme: 12)
        #expect(catalog.evaluate(facts, state: "ZZ", date: d("2020-04-30")).eligible)
        let after = catalog.evaluate(facts, state: "ZZ", date: d("2020-05-01"))
        #expect(!after.eligible)
        #expect(after.reasons == ["2020-05-01 is after the window closed (2020-04-30) (TEST-1 §1)"])
        #expect(catalog.versions(of: "TEST-1").map(\.version) == [1, 2])
    }

    @Test func unmetRequirementsNameTheRuleNotTheValue() throws {
        let criteria = "{all: [{ge: {field: img.usGmeMonths, value: 12}}, {eq: {field: img.ecfmgCertified, value: true}}]}"
        let decision = try evalTest(criteria, imgFacts(gme: 11))
        #expect(decision.reasons == ["US GME 11 months < 12 required (TEST-1 §1)"])
        #expect(decision.unmet.map(\.description) == ["US GME ≥ 12 months (TEST-1 §1)"])
        let other = try evalTest(criteria, imgFacts(gme: 3))
        #expect(other.unmet == decision.unmet)
        // A global block is a requirement too; a provision that does not cover the volunteer is not counted.
        var revoked = imgFacts(gme: 12)
        revoked.licenses = [lic("NJ", .revoked)]
        #expect(try evalTest(criteria, revoked).unmet.map(\.requirement) == ["no revoked or suspended licence"])
        let outside = try evalTest(criteria, imgFacts(gme: 3), on: "2021-02-01")
        #expect(outside.unmet.isEmpty)
        #expect(try evalTest(criteria, imgFacts(gme: 12)).unmet.isEmpty)
    }
}

@Suite struct OrdinaryLicensureTests {
    @Test func anActiveLicenceFromTheStateItselfNeedsNoOrder() {
        var nurse = EligibilityFacts(category: .licensed, profession: "registered_nurse", homeState: "NY",
                                     licenses: [EligibilityFacts.License(jurisdiction: "NY", type: "RN", status: .active, expires: d("2020-12-31"))])
        let decision = EligibilityEngine.evaluate(nurse, state: "NY", date: d("2020-04-03"), packs: [])
        #expect(decision.eligible)
        #expect(decision.primary?.instrument == Grant.ordinaryLicensure)
        #expect(decision.primary?.provision == "NY RN licence")
        #expect(decision.conditions.isEmpty)
        // Not in another state, not after it expires, and not past a global block.
        #expect(!EligibilityEngine.evaluate(nurse, state: "NJ", date: d("2020-04-03"), packs: []).eligible)
        #expect(!EligibilityEngine.evaluate(nurse, state: "NY", date: d("2021-01-01"), packs: []).eligible)
        nurse.licenses.append(EligibilityFacts.License(jurisdiction: "PA", type: "RN", status: .suspended))
        #expect(!EligibilityEngine.evaluate(nurse, state: "NY", date: d("2020-04-03"), packs: []).eligible)
    }
}

@Suite struct ProfileFactsTests {
    static let today = d("2020-04-03")

    func profile(_ json: String) throws -> VolunteerProfile {
        try VolunteerProfile.parse(try JSONValue.parse(json), today: Self.today)
    }

    @Test func anIMGRecordIsJudgedUnderNewYorksOrder() throws {
        let base = """
            {"ref":"i1","category":"img","profession":"physician","firstName":"Ravi","lastName":"Shah",
             "email":"ravi@example.org","homeState":"NY","licenses":[],
             "img":{"medicalSchool":"AIIMS","country":"IN","graduationDate":"2012-06-01","ecfmgCertified":true,
                    "ecfmgNumber":"0-000-001","usGmeMonths":GME,"yearsOfPractice":6HOME}}
            """
        let home = ",\"homeCountryLicense\":{\"country\":\"IN\",\"standing\":\"good\"}"
        func record(gme: Int, withHomeLicence: Bool = true) throws -> VolunteerProfile {
            try profile(base.replacingOccurrences(of: "GME", with: "\(gme)").replacingOccurrences(of: "HOME", with: withHomeLicence ? home : ""))
        }
        let ny = shippedPacks.filter { $0.appliesTo.contains("NY") }
        let twelve = EligibilityFacts(profile: try record(gme: 12), credentialLevel: 4)
        #expect(twelve.category == .img)
        #expect(twelve.img?.homeCountryLicenseStanding == .good)
        #expect(twelve.credentialLevel == 4)
        let yes = EligibilityEngine.evaluate(twelve, state: "NY", date: Self.today, packs: ny)
        #expect(yes.eligible)
        #expect(yes.grants.map(\.description).contains("NY-EO-202.10 §2"))
        let eleven = EligibilityFacts(profile: try record(gme: 11), credentialLevel: 4)
        let no = EligibilityEngine.evaluate(eleven, state: "NY", date: Self.today, packs: ny)
        #expect(!no.eligible)
        #expect(no.reasons.contains("US GME 11 months < 12 required (NY-EO-202.10 §2)"))
        // Without a home-country licence there is no standing to meet "good".
        let none = EligibilityFacts(profile: try record(gme: 12, withHomeLicence: false), credentialLevel: nil)
        #expect(none.img?.homeCountryLicenseStanding == nil)
        #expect(!EligibilityEngine.evaluate(none, state: "NY", date: Self.today, packs: ny).eligible)
    }

    @Test func licencesDisciplineAndTheMultistateFlagCarryOver() throws {
        let nurse = try profile("""
            {"ref":"n1","category":"licensed","profession":"registered_nurse","firstName":"Ana","lastName":"Ruiz",
             "email":"ana@example.org","homeState":"TX",
             "licenses":[{"jurisdiction":"TX","type":"RN","number":"1","status":"active","expires":"2021-01-31","multistate":true}],
             "disciplinaryActions":[{"jurisdiction":"TX","date":"2015-01-01","action":"reprimand","resolved":true}]}
            """)
        let facts = EligibilityFacts(profile: nurse, credentialLevel: 3)
        #expect(facts.licenses == [EligibilityFacts.License(jurisdiction: "TX", type: "RN", status: .active, expires: d("2021-01-31"), multistate: true)])
        #expect(!facts.disciplinary)
        var unresolved = nurse
        unresolved.disciplinaryActions[0].resolved = false
        #expect(EligibilityFacts(profile: unresolved, credentialLevel: 3).disciplinary)
    }
}
