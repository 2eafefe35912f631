import MusterCore
import Testing
@testable import MusterEligibility

@Suite struct PredicateTests {
    @Test func comparisonOperators() throws {
        let f = imgFacts(gme: 12)
        let cases: [(String, Bool)] = [
            ("eq: {field: img.usGmeMonths, value: 12}", true), ("eq: {field: img.usGmeMonths, value: 11}", false),
            ("ne: {field: img.usGmeMonths, value: 11}", true), ("ne: {field: img.usGmeMonths, value: 12}", false),
            ("lt: {field: img.usGmeMonths, value: 13}", true), ("lt: {field: img.usGmeMonths, value: 12}", false),
            ("le: {field: img.usGmeMonths, value: 12}", true), ("le: {field: img.usGmeMonths, value: 11}", false),
            ("gt: {field: img.usGmeMonths, value: 11}", true), ("gt: {field: img.usGmeMonths, value: 12}", false),
            ("ge: {field: img.usGmeMonths, value: 12}", true), ("ge: {field: img.usGmeMonths, value: 13}", false),
            ("in: {field: profession, values: [nurse_practitioner, physician]}", true),
            ("in: {field: profession, values: [pharmacist]}", false),
            ("eq: {field: img.ecfmgCertified, value: true}", true),
        ]
        for (c, expected) in cases { #expect(try evalTest(c, f).eligible == expected, "\(c)") }
    }

    @Test func logicAndQuantifiers() throws {
        var f = imgFacts(gme: 12)
        f.licenses = [lic("NJ", .lapsed, lapsed: "2018-01-01"), lic("PA", .active)]
        #expect(try evalTest("all: [{ge: {field: img.usGmeMonths, value: 12}}, {eq: {field: category, value: img}}]", f).eligible)
        #expect(try !evalTest("all: [{ge: {field: img.usGmeMonths, value: 12}}, {eq: {field: category, value: retired}}]", f).eligible)
        #expect(try evalTest("any: [{ge: {field: img.usGmeMonths, value: 99}}, {eq: {field: category, value: img}}]", f).eligible)
        #expect(try evalTest("not: {eq: {field: category, value: retired}}", f).eligible)
        #expect(try evalTest("anyLicense: {all: [{eq: {field: license.jurisdiction, value: PA}}, {eq: {field: license.status, value: active}}]}", f).eligible)
        #expect(try !evalTest("anyLicense: {all: [{eq: {field: license.jurisdiction, value: NJ}}, {eq: {field: license.status, value: active}}]}", f).eligible)
        #expect(try !evalTest("noLicense: {eq: {field: license.status, value: lapsed}}", f).eligible)
    }

    @Test func dateArithmetic() throws {
        var f = EligibilityFacts(category: .retired, profession: "physician", homeState: "NJ")
        f.licenses = [lic("NJ", .lapsed, lapsed: "2015-06-01")]
        let c = "anyLicense: {withinYears: {field: license.lapsed, years: 5}}"
        #expect(try evalTest(c, f, on: "2020-06-01").eligible)       // exactly 5 years: inclusive
        #expect(try !evalTest(c, f, on: "2020-06-02").eligible)      // one day past
        let r = try evalTest(c, f, on: "2020-06-02").reasons
        #expect(r == ["no licence with licence status change within the last 5 years (TEST-1 §1)"])
        f.student = .init(program: .nursing, graduationDate: d("2019-06-01"), graduated: true)
        #expect(try evalTest("withinMonths: {field: student.graduationDate, months: 12}", f, on: "2020-06-01").eligible)
        #expect(try !evalTest("withinMonths: {field: student.graduationDate, months: 12}", f, on: "2020-06-02").eligible)
        #expect(try evalTest("withinDays: {field: student.graduationDate, days: 366}", f, on: "2020-06-01").eligible)
        #expect(try !evalTest("withinDays: {field: student.graduationDate, days: 365}", f, on: "2020-06-01").eligible)
        #expect(try evalTest("gt: {field: student.graduationDate, value: 2019-05-31}", f).eligible)
        #expect(d("2020-01-31").adding(months: 1) == d("2020-02-29"))
        #expect(d("2020-03-01").adding(days: -1) == d("2020-02-29"))
    }

    @Test func missingFieldIsAReasonNotACrash() throws {
        let f = EligibilityFacts(category: .licensed, profession: "physician", homeState: "NY")
        let dec = try evalTest("ge: {field: img.usGmeMonths, value: 12}", f)
        #expect(!dec.eligible)
        #expect(dec.reasons == ["US GME missing, ≥ 12 months required (TEST-1 §1)"])
    }

    @Test func typeErrorsNameFileLineAndKey() {
        let yaml = packYAML(criteria: """
            all:
              - {ge: {field: img.usGmeMonths, value: twelve}}
              - {lt: {field: profession, value: physician}}
              - {eq: {field: nope.field, value: 1}}
              - {eq: {field: license.status, value: active}}
              - {withinYears: {field: img.usGmeMonths, years: 5}}
              - {between: {field: category, value: img}}
              - {eq: {field: img.homeCountryLicenseStanding, value: fine}}
            """)
        do {
            _ = try RulePack.load(yaml: yaml, file: "bad.yaml")
            Issue.record("expected rejection")
        } catch {
            let text = error.issues.map(\.description)
            #expect(error.issues.count == 7, "\(text)")
            #expect(text.contains { $0.hasPrefix("bad.yaml:14:") && $0.contains("provisions[0].criteria.all[0].ge.value") && $0.contains("\"twelve\"") }, "\(text)")
            #expect(text.contains { $0.hasPrefix("bad.yaml:15:") && $0.contains("criteria.all[1].lt") && $0.contains("integer or date") })
            #expect(text.contains { $0.hasPrefix("bad.yaml:16:") && $0.contains("unknown field \"nope.field\"") })
            #expect(text.contains { $0.hasPrefix("bad.yaml:17:") && $0.contains("only allowed inside anyLicense") })
            #expect(text.contains { $0.hasPrefix("bad.yaml:18:") && $0.contains("withinYears needs a date field") })
            #expect(text.contains { $0.hasPrefix("bad.yaml:19:") && $0.contains("unknown operator \"between\"") })
            #expect(text.contains { $0.hasPrefix("bad.yaml:20:") && $0.contains("\"fine\" is not a valid") })
        }
    }

    @Test func wholeFileRejectedWithEveryError() {
        // One good provision and errors in the header and a second provision: nothing loads, all errors listed.
        let yaml = """
            id: BAD-2
            state: ZZ
            title: t
            instrument: {type: eo}
            signed: 2020-02-30
            effective: {from: 2020-03-01, to: 2020-12-31}
            version: one
            sources: [{citation: x, grade: Q}]
            provisions:
              - id: "§1"
                covers: {categories: [img]}
                criteria: {ge: {field: img.usGmeMonths, value: 12}}
                grants: {settings: [hospital], conditions: [hospital_only]}
                grade: V
              - id: "§2"
                covers: {categories: [astronaut]}
                grants: {settings: [moon], conditions: [be_nice]}
                grade: U
            """
        do {
            _ = try RulePack.load(yaml: yaml, file: "bad2.yaml")
            Issue.record("expected rejection")
        } catch {
            let keys = Set(error.issues.map(\.key))
            for k in ["instrument.number", "signed", "version", "sources[0].grade", "provisions[1].covers.categories[0]",
                      "provisions[1].grants.settings[0]", "provisions[1].grants.conditions[0]", "provisions[1].uncertain"] {
                #expect(keys.contains(k), "missing \(k) in \(error.issues)")
            }
            #expect(error.issues.first { $0.key == "signed" }?.line == 5)
        }
    }

    @Test func yamlSyntaxErrorRejected() {
        #expect(throws: PackLoadError.self) { try RulePack.load(yaml: "id: [unclosed", file: "x.yaml") }
    }
}
