import MusterCore
import Testing
@testable import MusterEligibility

private func ev(_ f: EligibilityFacts, _ s: String, _ date: String) -> Decision {
    EligibilityEngine.evaluate(f, state: s, date: d(date), packs: shippedPacks)
}
private func grants(_ dec: Decision) -> [String] { dec.grants.map(\.description) }
private func student(_ program: EligibilityFacts.Program, graduation: String, graduated: Bool,
                     profession: String? = nil, home: String = "NY") -> EligibilityFacts {
    EligibilityFacts(category: .student, profession: profession ?? (program == .medicine ? "medical_student" : "nursing_student"),
                     homeState: home, student: .init(program: program, graduationDate: d(graduation), graduated: graduated))
}
private func licensed(_ profession: String, _ licences: [EligibilityFacts.License], home: String = "CA") -> EligibilityFacts {
    EligibilityFacts(category: .licensed, profession: profession, homeState: home, licenses: licences)
}
private func retired(_ profession: String, _ licences: [EligibilityFacts.License], lastPractice: String? = nil) -> EligibilityFacts {
    EligibilityFacts(category: .retired, profession: profession, homeState: "PA", licenses: licences,
                     retired: .init(lastClinicalPractice: lastPractice.map(d)))
}

@Suite struct PackBoundaryTests2 {
    @Test func ny20200404MedicalGraduates() {
        let id = "NY-EO-2020-04-04-GRADUATES"
        let f = student(.medicine, graduation: "2020-05-20", graduated: false)
        let ok = ev(f, "NY", "2020-04-04")
        #expect(grants(ok) == ["\(id) §medical-graduates"])
        #expect(ok.uncertain && ok.conditions == ["supervision_required", "valid_for_duration_of_emergency"])
        #expect(ev(f, "NY", "2020-05-04").eligible)
        let early = ev(f, "NY", "2020-04-03")                                  // before the order
        #expect(!early.eligible && early.reasons.contains("2020-04-03 is before \(id) was signed (2020-04-04) (\(id) §medical-graduates)"))
        let late = ev(f, "NY", "2020-05-05")                                   // one day past the 30-day term
        #expect(!late.eligible && late.reasons.contains("2020-05-05 is after the window closed (2020-05-04) (\(id) §medical-graduates)"))
        #expect(ev(student(.medicine, graduation: "2020-06-20", graduated: false), "NY", "2020-04-10").eligible)
        let summer = ev(student(.medicine, graduation: "2020-06-21", graduated: false), "NY", "2020-04-10")
        #expect(!summer.eligible && summer.reasons.contains("graduation 2020-06-21 > 2020-06-20 required (\(id) §medical-graduates)"))
        #expect(ev(student(.medicine, graduation: "2020-03-20", graduated: true), "NY", "2020-04-10").eligible)
        let winter = ev(student(.medicine, graduation: "2020-03-19", graduated: true), "NY", "2020-04-10")
        #expect(!winter.eligible && winter.reasons.contains("graduation 2020-03-19 < 2020-03-20 required (\(id) §medical-graduates)"))
        var blocked = f; blocked.disciplinary = true
        #expect(!ev(blocked, "NY", "2020-04-10").eligible)
    }

    @Test func ny20200404NursingGraduates() {
        let id = "NY-EO-2020-04-04-GRADUATES"
        let f = student(.nursing, graduation: "2019-11-06", graduated: true)
        let ok = ev(f, "NY", "2020-05-04")                                      // exactly 180 days after graduating
        #expect(grants(ok) == ["\(id) §nursing-graduates"])
        #expect(ok.primary?.settings == [.hospital, .alternate_care_site] && ok.conditions.contains("supervision_required"))
        let old = ev(student(.nursing, graduation: "2019-11-05", graduated: true), "NY", "2020-05-04")
        #expect(!old.eligible && old.reasons.contains("graduation 2019-11-05 is more than 180 days before 2020-05-04 (limit 2019-11-06) (\(id) §nursing-graduates)"))
        let notYet = ev(student(.nursing, graduation: "2020-04-01", graduated: false), "NY", "2020-04-20")
        #expect(!notYet.eligible && notYet.reasons.contains("graduated false ≠ true required (\(id) §nursing-graduates)"))
        #expect(!ev(f, "NY", "2020-04-03").eligible)
        #expect(!ev(f, "NY", "2020-05-05").eligible)
    }

    @Test func njDCAOutOfState() {
        let id = "NJ-DCA-2020-03-19-OUT-OF-STATE"
        let rn = licensed("registered_nurse", [lic("PA", "registered_nurse", .active)], home: "PA")
        let ok = ev(rn, "NJ", "2020-03-19")
        #expect(grants(ok) == ["\(id) §out-of-state"] && ok.conditions.contains("temporary_license_application_required"))
        let early = ev(rn, "NJ", "2020-03-18")
        #expect(!early.eligible && early.reasons.contains("2020-03-18 is before \(id) was signed (2020-03-19) (\(id) §out-of-state)"))
        #expect(ev(rn, "NJ", "2021-06-04").eligible)
        let late = ev(rn, "NJ", "2021-06-05")
        #expect(!late.eligible && late.reasons.contains("2021-06-05 is after the window closed (2021-06-04) (\(id) §out-of-state)"))
        var revoked = rn; revoked.licenses.append(lic("NY", "registered_nurse", .revoked))
        let blocked = ev(revoked, "NJ", "2020-06-01")
        #expect(!blocked.eligible && blocked.reasons.contains("licence NY registered_nurse is revoked, which blocks eligibility (\(id) §out-of-state)"))
        let njOnly = licensed("registered_nurse", [lic("NJ", "registered_nurse", .lapsed)], home: "NJ")
        #expect(!ev(njOnly, "NJ", "2020-06-01").eligible)
        // Practising within the last five years: a retired volunteer needs a last clinical practice date in range.
        let recent = retired("physician", [lic("PA", .active)], lastPractice: "2015-06-01")
        #expect(grants(ev(recent, "NJ", "2020-06-01")) == ["\(id) §out-of-state"])
        let stale = ev(retired("physician", [lic("PA", .active)], lastPractice: "2015-05-31"), "NJ", "2020-06-01")
        #expect(!stale.eligible)
        #expect(stale.reasons.contains { $0.contains("last clinical practice 2015-05-31 is more than 5 years before 2020-06-01 (limit 2015-06-01)") })
    }

    @Test func maNursingStudents() {
        let id = "MA-ORDER-2020-04-09-NURSING-STUDENTS"
        let spring = student(.nursing, graduation: "2020-05-15", graduated: false)
        #expect(grants(ev(spring, "MA", "2020-04-09")) == ["\(id) §spring-2020"])
        let early = ev(spring, "MA", "2020-04-08")
        #expect(!early.eligible && early.reasons.contains("2020-04-08 is before \(id) was signed (2020-04-09) (\(id) §spring-2020)"))
        let graduated = ev(student(.nursing, graduation: "2020-05-15", graduated: true), "MA", "2020-05-20")
        #expect(!graduated.eligible && graduated.reasons.contains("graduated true ≠ false required (\(id) §spring-2020)"))
        // Graduating in July: not in the last semester on 30 June, in it from 1 July.
        let fall = student(.nursing, graduation: "2020-07-01", graduated: false)
        let june = ev(fall, "MA", "2020-06-30")
        #expect(!june.eligible && june.reasons.contains("graduation 2020-07-01 > 2020-06-30 required (\(id) §spring-2020)"))
        #expect(grants(ev(fall, "MA", "2020-07-01")) == ["\(id) §fall-2020"])
        let last = student(.nursing, graduation: "2021-05-20", graduated: false)
        #expect(grants(ev(last, "MA", "2021-06-15")) == ["\(id) §spring-2021"])
        let over = ev(last, "MA", "2021-06-16")                                 // EO 591 rescinded 15 Jun 2021
        #expect(!over.eligible && over.reasons.contains("2021-06-16 is after the window closed (2021-06-15) (\(id) §spring-2021)"))
        #expect(!ev(student(.medicine, graduation: "2020-05-15", graduated: false), "MA", "2020-05-01").eligible)
    }

    @Test func illinoisStudents() {
        let id = "IL-2020-STUDENTS"
        let f = student(.medicine, graduation: "2021-05-15", graduated: false, home: "IL")
        let ok = ev(f, "IL", "2020-05-31")
        #expect(grants(ok) == ["\(id) §students"] && ok.uncertain && ok.conditions.contains("iema_idph_direction_or_ltc_hospital_fqhc"))
        let early = ev(f, "IL", "2020-05-30")
        #expect(!early.eligible && early.reasons.contains("2020-05-30 is before the window opens (2020-05-31) (\(id) §students)"))
        #expect(ev(student(.nursing, graduation: "2021-05-15", graduated: false, home: "IL"), "IL", "2020-09-30").eligible)
        let late = ev(f, "IL", "2020-10-01")
        #expect(!late.eligible && late.reasons.contains("2020-10-01 is after the window closed (2020-09-30) (\(id) §students)"))
        let grad = ev(student(.medicine, graduation: "2020-05-15", graduated: true, home: "IL"), "IL", "2020-06-15")
        #expect(!grad.eligible && grad.reasons.contains("graduated true ≠ false required (\(id) §students)"))
        var blocked = f; blocked.disciplinary = true
        let b = ev(blocked, "IL", "2020-06-15")
        #expect(!b.eligible && b.reasons.contains("unresolved disciplinary action blocks eligibility (\(id) §students)"))
    }

    @Test func connecticut7Vand14D() {
        let f = student(.medicine, graduation: "2020-03-01", graduated: true, home: "CT")
        let early = ev(f, "CT", "2020-04-06")
        #expect(!early.eligible && early.reasons.contains("2020-04-06 is before CT-EO-7V was signed (2020-04-07) (CT-EO-7V §practice-before-licensure)"))
        let ok = ev(f, "CT", "2020-04-07")
        #expect(grants(ok) == ["CT-EO-7V §practice-before-licensure"] && ok.uncertain && ok.conditions.contains("supervision_required"))
        #expect(ev(f, "CT", "2021-03-01").eligible)                              // 12 months after graduating
        let stale = ev(f, "CT", "2021-03-02")
        #expect(!stale.eligible && stale.reasons.contains("graduation 2020-03-01 is more than 12 months before 2021-03-02 (limit 2020-03-02) (CT-EO-7V §practice-before-licensure)"))
        let notYet = ev(student(.nursing, graduation: "2020-06-01", graduated: false, home: "CT"), "CT", "2020-05-01")
        #expect(!notYet.eligible && notYet.reasons.contains("graduated false ≠ true required (CT-EO-7V §practice-before-licensure)"))
        // 7V to 6 Jan 2022, renewed by 14D from 7 Jan 2022.
        let g = student(.nursing, graduation: "2021-06-01", graduated: true, home: "CT")
        #expect(grants(ev(g, "CT", "2022-01-06")) == ["CT-EO-7V §practice-before-licensure"])
        let renewed = ev(g, "CT", "2022-01-07")
        #expect(grants(renewed) == ["CT-EO-14D §practice-before-licensure"])
        #expect(renewed.reasons.contains("2022-01-07 is after the window closed (2022-01-06) (CT-EO-7V §practice-before-licensure)"))
        #expect(!ev(g, "CT", "2022-06-02").eligible)                             // 14D: more than 12 months after graduating
    }

    @Test func coloradoD2020038() {
        let id = "CO-EO-D-2020-038"
        let f = student(.nursing, graduation: "2019-04-15", graduated: true, home: "CO")
        let ok = ev(f, "CO", "2020-04-15")                                      // exactly 12 months after graduating
        #expect(grants(ok) == ["\(id) §new-graduates"] && ok.conditions.contains("temporary_license_application_required"))
        let stale = ev(student(.nursing, graduation: "2019-04-14", graduated: true, home: "CO"), "CO", "2020-04-15")
        #expect(!stale.eligible && stale.reasons.contains("graduation 2019-04-14 is more than 12 months before 2020-04-15 (limit 2019-04-15) (\(id) §new-graduates)"))
        let early = ev(f, "CO", "2020-04-14")
        #expect(!early.eligible && early.reasons.contains("2020-04-14 is before \(id) was signed (2020-04-15) (\(id) §new-graduates)"))
        let m = student(.medicine, graduation: "2020-05-01", graduated: true, home: "CO")
        #expect(ev(m, "CO", "2020-05-15").eligible)
        let late = ev(m, "CO", "2020-05-16")
        #expect(!late.eligible && late.reasons.contains("2020-05-16 is after the window closed (2020-05-15) (\(id) §new-graduates)"))
        #expect(!ev(student(.medicine, graduation: "2020-05-20", graduated: false, home: "CO"), "CO", "2020-05-01").eligible)
    }

    @Test func floridaReactivation() {
        let id = "FL-DOH-2020-04-23-REACTIVATION"
        let f = retired("registered_nurse", [lic("FL", "registered_nurse", .inactive, lapsed: "2005-01-01")])
        #expect(grants(ev(f, "FL", "2020-04-23")) == ["\(id) §reactivation"])
        let early = ev(f, "FL", "2020-04-22")
        #expect(!early.eligible && early.reasons.contains("2020-04-22 is before \(id) was signed (2020-04-23) (\(id) §reactivation)"))
        #expect(ev(f, "FL", "2020-07-21").eligible)                             // day 90
        let late = ev(f, "FL", "2020-07-22")
        #expect(!late.eligible && late.reasons.contains("2020-07-22 is after the window closed (2020-07-21) (\(id) §reactivation)"))
        let lapsed = ev(retired("registered_nurse", [lic("FL", "registered_nurse", .lapsed, lapsed: "2019-01-01")]), "FL", "2020-05-01")
        #expect(!lapsed.eligible && lapsed.reasons.contains("no licence with licence jurisdiction = FL and licence status = inactive (\(id) §reactivation)"))
        let suspended = ev(retired("registered_nurse", [lic("FL", "registered_nurse", .suspended, lapsed: "2019-01-01")]), "FL", "2020-05-01")
        #expect(!suspended.eligible && suspended.reasons.contains("licence FL registered_nurse is suspended, which blocks eligibility (\(id) §reactivation)"))
        let pharmacist = ev(retired("pharmacist", [lic("FL", "pharmacist", .inactive, lapsed: "2019-01-01")]), "FL", "2020-05-01")
        #expect(!pharmacist.eligible && pharmacist.reasons.contains { $0.hasPrefix("profession pharmacist not in [") })
    }

    @Test func alabama() {
        let id = "AL-BME-2020-EMERGENCY"
        let f = retired("physician", [lic("AL", .inactive, lapsed: "2017-01-02")])
        #expect(grants(ev(f, "AL", "2020-10-31")) == ["\(id) §reinstatement"])
        let early = ev(f, "AL", "2020-10-30")
        #expect(!early.eligible && early.reasons.contains("2020-10-30 is before the window opens (2020-10-31) (\(id) §reinstatement)"))
        #expect(ev(f, "AL", "2020-12-31").eligible)
        let expired = ev(f, "AL", "2021-01-01")                                  // reinstated licences expire 31 Dec 2020
        #expect(!expired.eligible && expired.reasons.contains("2021-01-01 is after the window closed (2020-12-31) (\(id) §reinstatement)"))
        let old = ev(retired("physician", [lic("AL", .inactive, lapsed: "2017-01-01")]), "AL", "2020-11-15")
        #expect(!old.eligible && old.reasons.contains { $0.contains("licence status change > 2017-01-01") && $0.hasSuffix("(\(id) §reinstatement)") })
        let revoked = ev(retired("physician", [lic("AL", .revoked, lapsed: "2019-06-01")]), "AL", "2020-11-15")
        #expect(!revoked.eligible && revoked.reasons.contains("licence AL physician is revoked, which blocks eligibility (\(id) §reinstatement)"))
        let md = licensed("physician", [lic("GA", .active)], home: "GA")
        #expect(grants(ev(md, "AL", "2021-10-31")) == ["\(id) §out-of-state"])
        let over = ev(md, "AL", "2021-11-01")
        #expect(!over.eligible && over.reasons.contains("2021-11-01 is after the window closed (2021-10-31) (\(id) §out-of-state)"))
        #expect(!ev(md, "AL", "2020-10-30").eligible)
    }

    @Test func alaskaSB241() {
        let id = "AK-SB-241"
        let f = licensed("registered_nurse", [lic("WA", "registered_nurse", .active)], home: "WA")
        let ok = ev(f, "AK", "2020-04-10")
        #expect(grants(ok) == ["\(id) §expedited-licence"] && ok.uncertain)
        let early = ev(f, "AK", "2020-04-09")
        #expect(!early.eligible && early.reasons.contains("2020-04-09 is before \(id) was signed (2020-04-10) (\(id) §expedited-licence)"))
        #expect(ev(f, "AK", "2020-11-15").eligible)
        let late = ev(f, "AK", "2020-11-16")
        #expect(!late.eligible && late.reasons.contains("2020-11-16 is after the window closed (2020-11-15) (\(id) §expedited-licence)"))
        let lapsed = ev(licensed("registered_nurse", [lic("WA", "registered_nurse", .lapsed)], home: "WA"), "AK", "2020-06-01")
        #expect(!lapsed.eligible && lapsed.reasons.contains { $0.hasPrefix("no licence with licence status = active") })
    }

    @Test func uevhpaEnactingStates() {
        let states = ["AR", "WV", "IN", "NM", "CO", "KY", "TN", "UT", "OK", "ND", "LA", "DC", "VI"]
        let md = licensed("physician", [lic("CA", .active)])
        for s in states {
            let id = "MECH-UEVHPA-\(s)"
            let ok = ev(md, s, "2020-03-16")
            #expect(grants(ok) == ["\(id) §volunteer"], "\(s)")
            #expect(ok.uncertain && ok.conditions.contains("registered_with_qualifying_registration_system"), "\(s)")
            #expect(ev(md, s, "2020-12-31").eligible, "\(s)")
            let early = ev(md, s, "2020-03-15")
            #expect(!early.eligible && early.reasons.contains("2020-03-15 is before the window opens (2020-03-16) (\(id) §volunteer)"), "\(s)")
            let late = ev(md, s, "2021-01-01")
            #expect(!late.eligible && late.reasons.contains("2021-01-01 is after the window closed (2020-12-31) (\(id) §volunteer)"), "\(s)")
            var revoked = md; revoked.licenses.append(lic("TX", .revoked))
            let blocked = ev(revoked, s, "2020-06-01")
            #expect(!blocked.eligible && blocked.reasons.contains("licence TX physician is revoked, which blocks eligibility (\(id) §volunteer)"), "\(s)")
            let lapsedOnly = ev(licensed("physician", [lic("CA", .lapsed)]), s, "2020-06-01")
            #expect(!lapsedOnly.eligible, "\(s)")
        }
        // Only jurisdictions the research lists as enacted (V or S); the uncertain ones have no pack.
        for s in ["IL", "MN", "ME", "WA", "NY", "NJ"] {
            #expect(!shippedPacks.contains { $0.id == "MECH-UEVHPA-\(s)" }, "\(s)")
        }
    }
}
