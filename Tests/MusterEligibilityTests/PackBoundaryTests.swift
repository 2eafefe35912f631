import MusterCore
import Testing
@testable import MusterEligibility

private func ev(_ f: EligibilityFacts, _ s: String, _ date: String) -> Decision {
    EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks)
}
private func grants(_ dec: Decision) -> [String] { dec.grants.map(\.description) }

@Suite struct PackBoundaryTests {
    @Test func ny20210IMG() {
        #expect(grants(ev(imgFacts(gme: 12), "NY", "2020-03-23")) == ["NY-EO-202.10 §2"])
        let ok = ev(imgFacts(gme: 12), "NY", "2020-04-22")
        #expect(ok.primary?.description == "NY-EO-202.10 §2" && ok.uncertain && ok.conditions == ["hospital_only"])
        #expect(!ev(imgFacts(gme: 11), "NY", "2020-04-01").eligible)                      // one month short
        let late = ev(imgFacts(gme: 12), "NY", "2020-04-23")                               // one day past window
        #expect(!late.eligible && late.reasons.contains("2020-04-23 is after the window closed (2020-04-22) (NY-EO-202.10 §2)"))
        let early = ev(imgFacts(gme: 12), "NY", "2020-03-22")                              // before signing
        #expect(!early.eligible && early.reasons.contains("2020-03-22 is before NY-EO-202.10 was signed (2020-03-23) (NY-EO-202.10 §2)"))
        #expect(!ev(imgFacts(gme: 12, standing: .revoked), "NY", "2020-04-01").eligible)
    }

    @Test func ny2025OutOfStateAndNotRegistered() {
        let md = EligibilityFacts(category: .licensed, profession: "physician", homeState: "PA", licenses: [lic("PA", .active)])
        #expect(grants(ev(md, "NY", "2020-03-18")) == ["NY-EO-202.5 §out-of-state-physicians"])
        #expect(!ev(md, "NY", "2020-03-17").eligible)
        #expect(!ev(md, "NY", "2020-06-05").eligible)
        var revoked = md; revoked.licenses.append(lic("NJ", .revoked))
        #expect(!ev(revoked, "NY", "2020-04-01").eligible)
        let rn = EligibilityFacts(category: .licensed, profession: "registered_nurse", homeState: "PA", licenses: [lic("PA", "registered_nurse", .active)])
        #expect(grants(ev(rn, "NY", "2020-04-01")) == ["NY-EO-202.5 §out-of-state-nurses"])
        let ret = EligibilityFacts(category: .retired, profession: "physician", homeState: "NY", licenses: [lic("NY", .lapsed, lapsed: "2001-01-01")])
        #expect(grants(ev(ret, "NY", "2020-04-01")) == ["NY-EO-202.5 §not-registered-physicians"])
        #expect(Set(grants(ev(ret, "NY", "2020-04-20"))) == ["NY-EO-202.5 §not-registered-physicians", "NY-EO-202.18 §not-registered"])
    }

    @Test func ny20218Canada() {
        let f = EligibilityFacts(category: .licensed, profession: "registered_nurse", homeState: "ON", licenses: [lic("CA-ON", "registered_nurse", .active)])
        #expect(!ev(f, "NY", "2020-04-15").eligible)       // no Canadian pathway before 202.18
        #expect(grants(ev(f, "NY", "2020-04-16")) == ["NY-EO-202.18 §canada"])
        #expect(!ev(f, "NY", "2020-06-05").eligible)
    }

    @Test func njReactivationRevokedVsLapsed() {
        let lapsed = EligibilityFacts(category: .retired, profession: "physician", homeState: "NJ", licenses: [lic("NJ", .lapsed, lapsed: "2016-01-10")])
        #expect(grants(ev(lapsed, "NJ", "2021-01-10")) == ["NJ-EO-112-REACTIVATION §reactivation"])
        #expect(!ev(lapsed, "NJ", "2021-01-11").eligible)   // 5 years and 1 day
        #expect(!ev(lapsed, "NJ", "2022-01-01").eligible)   // reactivated licences expired after 2021-12-31
        let revoked = EligibilityFacts(category: .retired, profession: "physician", homeState: "NJ", licenses: [lic("NJ", .revoked, lapsed: "2019-01-10")])
        let dec = ev(revoked, "NJ", "2020-06-01")
        #expect(!dec.eligible && dec.reasons.contains { $0.hasPrefix("licence NJ physician is revoked, which blocks eligibility") })
    }

    @Test func njForeignPhysicianAndGraduates() {
        #expect(grants(ev(imgFacts(gme: 0, years: 5), "NJ", "2020-04-17")) == ["NJ-TEMP-FOREIGN-PHYSICIAN §criteria"])
        #expect(!ev(imgFacts(gme: 0, years: 4), "NJ", "2020-05-01").eligible)
        #expect(!ev(imgFacts(gme: 0, years: 5), "NJ", "2020-04-16").eligible)
        #expect(!ev(imgFacts(gme: 0, years: 9, standing: .suspended), "NJ", "2020-05-01").eligible)
        let grad = EligibilityFacts(category: .student, profession: "registered_nurse", homeState: "NJ",
                                    student: .init(program: .nursing, graduationDate: d("2020-05-15"), graduated: true))
        let dec = ev(grad, "NJ", "2020-11-15")
        #expect(grants(dec) == ["NJ-EMERGENCY-GRADUATE-LICENSURE §graduates"])
        #expect(dec.conditions.contains("supervision_required") && dec.conditions.contains("exam_within_90_days_of_availability"))
        #expect(!ev(grad, "NJ", "2020-11-16").eligible)     // more than six months after graduating
    }

    @Test func massachusetts() {
        let ret = EligibilityFacts(category: .retired, profession: "physician", homeState: "MA", licenses: [lic("MA", .inactive, lapsed: "2019-03-17")])
        #expect(grants(ev(ret, "MA", "2020-04-01")) == ["MA-ORDER-2020-03-17 §retired"])
        let old = EligibilityFacts(category: .retired, profession: "physician", homeState: "MA", licenses: [lic("MA", .inactive, lapsed: "2019-03-16")])
        #expect(!ev(old, "MA", "2020-04-01").eligible)
        #expect(!ev(ret, "MA", "2021-06-16").eligible)
        #expect(grants(ev(imgFacts(gme: 24), "MA", "2020-04-09")) == ["MA-ORDER-2020-04-09-IMG §img"])
        #expect(!ev(imgFacts(gme: 23), "MA", "2020-05-01").eligible)
        #expect(!ev(imgFacts(gme: 24), "MA", "2020-04-08").eligible)
    }

    @Test func illinois() {
        let md = EligibilityFacts(category: .retired, profession: "physician", homeState: "IL", licenses: [lic("IL", .inactive, lapsed: "2017-08-01")])
        #expect(grants(ev(md, "IL", "2020-04-01")) == ["IL-IDFPR-2020-VARIANCE §physicians"])
        let md2 = EligibilityFacts(category: .retired, profession: "physician", homeState: "IL", licenses: [lic("IL", .inactive, lapsed: "2017-07-31")])
        #expect(!ev(md2, "IL", "2020-04-01").eligible)
        #expect(!ev(md, "IL", "2020-10-01").eligible)
        let rn = EligibilityFacts(category: .retired, profession: "registered_nurse", homeState: "IL", licenses: [lic("IL", "registered_nurse", .lapsed, lapsed: "2016-01-01")])
        #expect(ev(rn, "IL", "2020-04-01").eligible)
    }

    @Test func connecticutColoradoNevadaMichigan() {
        let ot = EligibilityFacts(category: .licensed, profession: "respiratory_therapist", homeState: "NY", licenses: [lic("NY", "respiratory_therapist", .active)])
        #expect(!ev(ot, "CT", "2020-07-13").eligible)
        let ct = ev(ot, "CT", "2020-07-14")
        #expect(grants(ct) == ["CT-EO-7HHH §out-of-state"] && ct.conditions.contains("malpractice_insurance_required"))
        #expect(grants(ev(imgFacts(gme: 0, years: 1), "CO", "2022-12-31")) == ["CO-3CCR-713-45.2 §45.2"])
        #expect(!ev(imgFacts(gme: 0, years: 1), "CO", "2023-01-01").eligible)
        #expect(!ev(imgFacts(gme: 11, years: 0), "CO", "2022-01-01").eligible)
        let nv = EligibilityFacts(category: .licensed, profession: "physician", homeState: "CA", licenses: [lic("CA", .active)])
        let nvDec = ev(nv, "NV", "2022-05-20")
        #expect(Set(grants(nvDec)) == ["NV-ED-011 §licensed", "MECH-UEVHPA-NV §415A.190"] && nvDec.uncertain)
        #expect(nvDec.primary?.description == "NV-ED-011 §licensed")   // 2 conditions beats 3
        #expect(!ev(nv, "NV", "2022-05-21").eligible)
        #expect(grants(ev(imgFacts(gme: 0, years: 5), "MI", "2020-04-26")) == ["MI-EO-2020-61 §foreign-licensed"])
        #expect(!ev(imgFacts(gme: 0, years: 5), "MI", "2020-07-14").eligible)
    }

    @Test func nurseLicensureCompact() {
        let rn = EligibilityFacts(category: .licensed, profession: "registered_nurse", homeState: "TX",
                                  licenses: [lic("TX", "registered_nurse", .active, multistate: true)])
        #expect(grants(ev(rn, "AZ", "2024-01-01")) == ["MECH-NLC §multistate"])
        #expect(!ev(rn, "NY", "2024-01-01").eligible)
        var single = rn; single.licenses = [lic("TX", "registered_nurse", .active)]
        #expect(!ev(single, "AZ", "2024-01-01").eligible)
    }
}
