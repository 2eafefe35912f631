import Foundation
import MusterCore
import Testing
@testable import MusterEligibility

/// Crashes found by fuzzing (Deploy/fuzz.sh, target FuzzRulePack), kept fixed.
@Suite struct FuzzRegressionTests {
    /// A pack whose one provision needs a date field within a window, in force from the first representable day.
    static func windowPack(_ within: String, from: String = "0001-01-01") -> String {
        """
        id: TEST-WINDOW
        state: ZZ
        title: window
        instrument: {type: executive_order, number: "1"}
        effective: {from: \(from)}
        version: 1
        sources: [{citation: "test", grade: V}]
        provisions:
          - id: "§1"
            covers: {categories: [student]}
            criteria: {\(within)}
            grants: {settings: [any]}
            grade: V
        """
    }

    static func student(graduated: String) -> EligibilityFacts {
        EligibilityFacts(
            category: .student, profession: "medical_student", homeState: "ZZ",
            student: .init(program: .medicine, graduationDate: CalendarDate(graduated)!, graduated: true))
    }

    static func eligible(_ pack: RulePack, _ facts: EligibilityFacts, on date: String, explain: Bool = true) -> Bool {
        EligibilityEngine.evaluate(facts, state: "ZZ", date: CalendarDate(date)!, packs: [pack], explain: explain).eligible
    }

    /// `withinYears` and friends moved the evaluation date back with `CalendarDate.adding(months:)`, which traps
    /// below year 1: any evaluation dated early in year 1 (ELIGIBILITY.CHECK, SCREEN and BLOCKERS take any date; a
    /// staffing request may start on any date) crashed musterd. Fuzz input: Deploy/orders/MA-2020-03-27-graduates.yaml
    /// evaluated on 0001-01-01.
    @Test func windowsReachingBackBeforeYearOneHaveNoLowerLimit() throws {
        let years = try RulePack.load(yaml: Self.windowPack("withinYears: {field: student.graduationDate, years: 5}"), file: "t.yaml")
        #expect(Self.eligible(years, Self.student(graduated: "0001-01-01"), on: "0001-01-01"))
        #expect(Self.eligible(years, Self.student(graduated: "0001-01-01"), on: "0003-06-30", explain: false))
        #expect(!Self.eligible(years, Self.student(graduated: "0003-07-01"), on: "0003-06-30"))  // after the date
        // Where the window fits, it still counts: 5 years back from 0007-03-31 is 0002-03-31.
        #expect(Self.eligible(years, Self.student(graduated: "0002-03-31"), on: "0007-03-31"))
        #expect(!Self.eligible(years, Self.student(graduated: "0002-03-30"), on: "0007-03-31"))

        let days = try RulePack.load(yaml: Self.windowPack("withinDays: {field: student.graduationDate, days: 180}"), file: "t.yaml")
        #expect(Self.eligible(days, Self.student(graduated: "0001-01-01"), on: "0001-02-01"))
        #expect(!Self.eligible(days, Self.student(graduated: "0001-01-01"), on: "0001-07-01"))  // 181 days later

        // The reason text names the limit, also when the window is cut at 0001-01-01.
        let decision = EligibilityEngine.evaluate(
            Self.student(graduated: "0001-01-01"), state: "ZZ", date: CalendarDate("0009-01-01")!, packs: [years])
        #expect(decision.reasons.contains { $0.contains("limit 0004-01-01") })
    }

    @Test func everyShippedPackEvaluatesOnTheFirstAndLastDates() throws {
        let packs = try shippedPacksResult.get()
        let people = [
            Self.student(graduated: "0001-01-01"),
            EligibilityFacts(
                category: .retired, profession: "registered_nurse", homeState: "NY",
                licenses: [.init(jurisdiction: "NY", type: "RN", status: .lapsed, lapsed: CalendarDate("0001-01-01"))],
                retired: .init(lastClinicalPractice: CalendarDate("0001-01-01"))),
        ]
        for date in ["0001-01-01", "0001-12-31", "9999-12-31"] {
            for state in Set(packs.flatMap(\.appliesTo)).sorted() {
                for facts in people {
                    _ = EligibilityEngine.evaluate(facts, state: state, date: CalendarDate(date)!, packs: packs)
                    _ = EligibilityEngine.evaluate(facts, state: state, date: CalendarDate(date)!, packs: packs, explain: false, requirements: true)
                }
            }
        }
    }

    /// `years: 9223372036854775807` overflowed `years * 12` while compiling (ORDERS.LOAD crashed musterd); windows
    /// longer than the calendar are now compile errors.
    @Test func windowAmountsLongerThanTheCalendarAreRejected() throws {
        for (within, message) in [
            ("withinYears: {field: student.graduationDate, years: 9223372036854775807}", "must be at most 9999"),
            ("withinYears: {field: student.graduationDate, years: 10000}", "must be at most 9999"),
            ("withinMonths: {field: student.graduationDate, months: 119989}", "must be at most 119988"),
            ("withinDays: {field: student.graduationDate, days: 9223372036854775807}", "must be at most 3659634"),
        ] {
            #expect(throws: PackLoadError.self) { try RulePack.load(yaml: Self.windowPack(within), file: "t.yaml") }
            do throws(PackLoadError) {
                _ = try RulePack.load(yaml: Self.windowPack(within), file: "t.yaml")
            } catch {
                #expect(error.issues.contains { $0.message == message }, "\(error)")
            }
        }
        let longest = try RulePack.load(yaml: Self.windowPack("withinYears: {field: student.graduationDate, years: 9999}"), file: "t.yaml")
        #expect(Self.eligible(longest, Self.student(graduated: "0001-01-01"), on: "9999-12-31"))
    }

    /// Nested YAML aliases (`&l1 {all: [*l0, *l0, …]}`, `&l2 {all: [*l1, …]}`, …) make a few hundred bytes stand for
    /// 10^n predicates; compiling one took minutes and gigabytes, and every evaluation walked them all. ORDERS.LOAD
    /// (open to state tokens) compiles uploaded text, so a pack may now hold at most 10,000 predicates.
    @Test func aliasBombsAreRejectedQuickly() throws {
        var criteria = "all:\n  - &l0 {eq: {field: category, value: student}}"
        for level in 1...8 {
            criteria += "\n  - &l\(level) {all: [" + Array(repeating: "*l\(level - 1)", count: 10).joined(separator: ", ") + "]}"
        }
        let yaml = Self.windowPack("withinDays: {field: student.graduationDate, days: 1}")
            .replacingOccurrences(of: "    criteria: {withinDays: {field: student.graduationDate, days: 1}}",
                                  with: "    criteria:\n" + criteria.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
        let clock = ContinuousClock()
        let start = clock.now
        do throws(PackLoadError) {
            _ = try RulePack.load(yaml: yaml, file: "bomb.yaml")
            Issue.record("an alias bomb compiled")
        } catch {
            #expect(error.issues.map(\.message).contains("more than 10000 predicates in one pack (counting each use of a YAML alias)"))
        }
        #expect(clock.now - start < .seconds(10))

        // A hundred uses of one alias are fine.
        let fine = Self.windowPack("withinDays: {field: student.graduationDate, days: 1}")
            .replacingOccurrences(of: "    criteria: {withinDays: {field: student.graduationDate, days: 1}}",
                                  with: "    criteria:\n      all:\n        - &one {eq: {field: category, value: student}}\n        - {all: ["
                                    + Array(repeating: "*one", count: 100).joined(separator: ", ") + "]}")
        #expect(Self.eligible(try RulePack.load(yaml: fine, file: "fine.yaml"), Self.student(graduated: "2020-01-01"), on: "2020-04-03"))
    }
}
