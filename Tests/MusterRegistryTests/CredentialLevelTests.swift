import Foundation
import MusterCore
import MusterRegistry
import Testing

/// The ESAR-VHP level, derived from verified items only.
@Suite struct CredentialLevelTests {
    let today = CalendarDate("2020-04-03")!

    func profile(_ category: VolunteerCategory, licenses: [VolunteerProfile.License] = []) -> VolunteerProfile {
        VolunteerProfile(
            ref: "r", category: category, profession: .physician, firstName: "A", lastName: "B", dateOfBirth: nil,
            email: "a@b.co", phone: nil, homeState: "NY", location: nil, npi: nil, licenses: licenses,
            disciplinaryActions: [], skills: [], languages: [], availability: nil, maxTravelKm: nil,
            telehealthOnly: false, img: nil, retired: nil, student: nil, consentToShare: false)
    }

    func license(_ status: LicenseStatus, expires: String? = nil) -> VolunteerProfile.License {
        .init(jurisdiction: "NY", type: "MD", number: "123", status: status, issued: nil, expires: expires.flatMap { CalendarDate($0) }, lapsed: nil)
    }

    var counter: Int64 = 0
    func verified(_ item: VerificationItem, _ subject: String = "", outcome: VerificationOutcome = .verified, expires: String? = nil, at: TimeInterval = 0) -> Verification {
        Verification(
            id: Int64(at), item: item, subject: subject, outcome: outcome, source: "board", reference: "ref",
            verifiedBy: "tester", verifiedAt: Date(timeIntervalSince1970: 1_585_000_000 + at),
            expires: expires.flatMap { CalendarDate($0) })
    }

    @Test func levelsOneToFour() {
        let licensed = profile(.licensed, licenses: [license(.active)])
        let cases: [([Verification], Int?)] = [
            ([], nil),
            ([verified(.license, "NY:123")], nil),  // no identity
            ([verified(.identity)], nil),  // nothing qualifying
            ([verified(.identity), verified(.license, "NY:123")], 3),
            ([verified(.identity), verified(.license, "ny:123"), verified(.employment)], 2),
            ([verified(.identity), verified(.license, "NY:123"), verified(.privileges)], 1),
            ([verified(.identity), verified(.license, "NY:999")], 4),  // a verified licence that is not the active one listed
            ([verified(.identity), verified(.privileges)], nil),  // privileges without a licence
        ]
        for (verifications, level) in cases {
            #expect(CredentialAssessment.assess(profile: licensed, verifications: verifications, on: today).level == level, "\(verifications.map(\.item))")
        }
    }

    @Test func claimsAloneNeverCount() {
        // An IMG who claims ECFMG certification, an active licence claim: nothing verified, no level.
        let assessment = CredentialAssessment.assess(profile: profile(.licensed, licenses: [license(.active)]), verifications: [], on: today)
        #expect(assessment.level == nil)
        #expect(assessment.missing == ["identity", "an active US licence"])
    }

    @Test func eachCategoryReachesLevelFourByEducationOrPastLicensure() {
        #expect(CredentialAssessment.assess(profile: profile(.img), verifications: [verified(.identity), verified(.ecfmg)], on: today).level == 4)
        #expect(CredentialAssessment.assess(profile: profile(.student), verifications: [verified(.identity), verified(.enrollment, "NYU")], on: today).level == 4)
        let retired = profile(.retired, licenses: [license(.lapsed)])
        #expect(CredentialAssessment.assess(profile: retired, verifications: [verified(.identity), verified(.license, "NY:123")], on: today).level == 4)
    }

    @Test func expiryLowersTheLevel() {
        let licensed = profile(.licensed, licenses: [license(.active, expires: "2020-04-30")])
        let items = [verified(.identity), verified(.license, "NY:123", expires: "2020-04-30"), verified(.privileges, expires: "2020-12-31")]
        let now = CredentialAssessment.assess(profile: licensed, verifications: items, on: today)
        #expect(now.level == 1)
        #expect(now.validUntil == CalendarDate("2020-04-30"))
        let later = CredentialAssessment.assess(profile: licensed, verifications: items, on: CalendarDate("2020-05-01")!)
        // The licence's expiry expires its verification: out of matching until re-verified.
        #expect(later.level == nil)
        #expect(later.missing.contains("an active US licence"))
    }

    @Test func aLaterFailureCancelsAnEarlierVerification() {
        let licensed = profile(.licensed, licenses: [license(.active)])
        let items = [verified(.identity), verified(.license, "NY:123", at: 1), verified(.license, "NY:123", outcome: .failed, at: 2)]
        #expect(CredentialAssessment.assess(profile: licensed, verifications: items, on: today).level == nil)
        let reverified = items + [verified(.license, "NY:123", at: 3)]
        #expect(CredentialAssessment.assess(profile: licensed, verifications: reverified, on: today).level == 3)
    }
}
