import MusterCore
import Testing

@Suite struct CalendarDateTests {
    func day(_ text: String) -> CalendarDate { CalendarDate(text)! }

    @Test func parsesOnlyRealCalendarDays() {
        #expect(CalendarDate("2020-04-03")!.description == "2020-04-03")
        #expect(CalendarDate("2020-02-29") != nil)
        #expect(CalendarDate("2021-02-29") == nil)
        #expect(CalendarDate("2020-4-03") == nil)
        #expect(CalendarDate("0000-01-01") == nil)
        #expect(CalendarDate(year: 10_000, month: 1, day: 1) == nil)
    }

    @Test func dayArithmetic() {
        #expect(day("2020-02-29").adding(days: 1) == day("2020-03-01"))
        #expect(CalendarDate(daysSinceEpoch: 0) == day("1970-01-01"))
        #expect(CalendarDate(daysSinceEpoch: day("0001-01-01").daysSinceEpoch) == day("0001-01-01"))
    }

    @Test func monthArithmeticClampsTheDay() {
        #expect(day("2020-01-31").adding(months: 1) == day("2020-02-29"))
        #expect(day("2020-02-29").adding(months: 12) == day("2021-02-28"))
        #expect(day("2020-03-31").adding(months: -1) == day("2020-02-29"))
        #expect(day("2020-04-03").adding(months: -12 * 16) == day("2004-04-03"))
    }

    /// Moving past the first or last month a date holds is nil, not a crash (it used to trap before year 1).
    @Test func monthArithmeticOutsideTheYearsHeldIsNil() {
        #expect(day("0001-01-31").adding(months: 0) == day("0001-01-31"))
        #expect(day("0001-02-15").adding(months: -1) == day("0001-01-15"))
        #expect(day("0001-01-15").adding(months: -1) == nil)
        #expect(day("0016-04-03").adding(months: -12 * 16) == nil)
        #expect(day("9999-12-31").adding(months: 1) == nil)
        #expect(day("9999-11-30").adding(months: 1) == day("9999-12-30"))
        #expect(day("2020-04-03").adding(months: Int.min) == nil)
        #expect(day("2020-04-03").adding(months: Int.max) == nil)
    }
}

@Suite struct JurisdictionTests {
    @Test func knowsStatesAndTerritoriesOnly() {
        #expect(Jurisdiction("NY")?.code == "NY")
        #expect(Jurisdiction("PR")?.code == "PR")
        #expect(Jurisdiction("ny")?.code == "NY")
        #expect(Jurisdiction("ZZ") == nil)
        #expect(Jurisdiction("") == nil)
        #expect(Jurisdiction.all.count == Set(Jurisdiction.all).count)
        #expect(Jurisdiction.all == Jurisdiction.all.sorted())
    }
}
