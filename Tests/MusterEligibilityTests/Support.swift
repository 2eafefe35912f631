import MusterCore
@testable import MusterEligibility

func d(_ s: String) -> CalendarDate { CalendarDate(s)! }
let packsDirectory: String = {
    var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)
    return parts.joined(separator: "/") + "/Deploy/orders"
}()
/// The packs shipped in Deploy/orders; a load failure leaves this empty and fails `theShippedPacksLoad`.
let shippedPacksResult = Result { try EligibilityEngine.loadPacks(directory: packsDirectory) }
let shippedPacks: [RulePack] = (try? shippedPacksResult.get()) ?? []

func lic(_ j: String, _ t: String, _ s: EligibilityFacts.LicenseStatus, lapsed: String? = nil, multistate: Bool = false) -> EligibilityFacts.License {
    .init(jurisdiction: j, type: t, status: s, lapsed: lapsed.map(d), multistate: multistate)
}
func imgFacts(gme: Int, years: Int = 0, standing: EligibilityFacts.Standing = .good, profession: String = "physician") -> EligibilityFacts {
    EligibilityFacts(category: .img, profession: profession, homeState: "NY",
                     img: .init(usGmeMonths: gme, ecfmgCertified: true, yearsOfPractice: years, homeCountryLicenseStanding: standing))
}
func packYAML(criteria: String, extra: String = "") -> String {
    """
    id: TEST-1
    state: ZZ
    title: test
    instrument: {type: executive_order, number: "1"}
    signed: 2020-03-01
    effective: {from: 2020-03-01, to: 2020-12-31}
    version: 1
    sources: [{citation: "test", grade: V}]
    provisions:
      - id: "§1"
        covers: {categories: [img, retired, student, licensed]}
        criteria:
    \(criteria.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
        grants: {settings: [any]}
        grade: V
    \(extra)
    """
}
func evalTest(_ criteria: String, _ f: EligibilityFacts, on date: String = "2020-06-01") throws -> Decision {
    let p = try RulePack.load(yaml: packYAML(criteria: criteria), file: "t.yaml")
    return EligibilityEngine.evaluate(f, state: "ZZ", date: d(date), packs: [p], requirements: true)
}
func lic(_ j: String, _ s: EligibilityFacts.LicenseStatus, lapsed: String? = nil) -> EligibilityFacts.License {
    lic(j, "physician", s, lapsed: lapsed)
}

import Testing

@Suite struct ShippedPackLoadingTests {
    @Test func theShippedPacksLoad() throws {
        let packs = try shippedPacksResult.get()
        #expect(packs.count == 39)
        #expect(Set(packs.map(\.state)).isSuperset(of: ["NY", "NJ", "MA", "IL", "CT", "CO", "NV", "MI"]))
    }
}
