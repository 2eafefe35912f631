import Foundation
import MusterCore
import MusterRegistry
import Testing

/// Failures found by fuzzing (Deploy/fuzz.sh, target FuzzVolunteerCSV), kept fixed.
@Suite struct RegistryFuzzRegressionTests {
    static func read(_ text: String) throws(FieldError) -> [[String]] {
        var reader = CSVReader(Array(text.utf8))
        var out: [[String]] = []
        while let record = try reader.next() { out.append(record) }
        return out
    }

    /// `VolunteerCSV.record` looked for `\r`, `\n`, `,` and `"` as Characters, but `"\r\n"` is one Character, and
    /// so is a comma or quote followed by a combining mark: such cells were written unquoted (or with the quote not
    /// doubled), and the reader, which works on bytes, split the row. Fuzz input: `a,b\n"o\r\n"\n`.
    @Test(arguments: ["o\r\n", "a\r\nb", "x,\u{301}y", "say \"\u{301}hi\"", "\"\u{301}", "plain", "", "tab\tand ;"])
    func everyCellReadsBackAsWritten(cell: String) throws {
        let records = [[cell, "next"], [cell]]
        let text = records.map(VolunteerCSV.record).joined(separator: "\n") + "\n"
        #expect(try Self.read(text) == records, "\(Array(text.utf8))")
    }

    @Test func aNameWithALineBreakExportsAsOneRow() throws {
        // String fields are trimmed of spaces and tabs only, so a registration may hold a CRLF inside a name.
        let registration = try JSONValue.parse(#"""
            {"ref":"NY-9","category":"licensed","profession":"registered_nurse","firstName":"Ana\r\nMaría",
             "lastName":"Pérez, \"Jr.\"","email":"a@b.org","homeState":"NY",
             "licenses":[{"jurisdiction":"NJ","type":"RN","number":"1","status":"active"}]}
            """#)
        let profile = try VolunteerProfile.parse(registration, today: CalendarDate("2020-04-03")!)
        let cells = try VolunteerCSV.cells(for: profile)
        let rows = try Self.read(VolunteerCSV.record(VolunteerCSV.header) + "\n" + VolunteerCSV.record(cells) + "\n")
        #expect(rows.count == 2)
        #expect(rows.last == cells)
        let (value, errors) = VolunteerCSV.registration(header: rows[0], cells: rows[1])
        #expect(errors.isEmpty)
        #expect(try VolunteerProfile.parse(try #require(value), today: CalendarDate("2020-04-03")!) == profile)
    }

    /// A licence type is stored in capitals, and `"ß".uppercased()` is `"SS"`: a 20-character type could be stored
    /// as 40 characters, and that record then failed its own validation (so every `VOLUNTEER.UPDATE` of it failed).
    /// Found by the FuzzRegistryJSON invariant "a stored registration validates again to the same profile".
    @Test func aLicenceTypeIsCheckedInCapitals() throws {
        func licensed(type: String) throws -> JSONValue {
            try JSONValue.parse("""
                {"ref":"NY-9","category":"licensed","profession":"physician","firstName":"A","lastName":"B",
                 "email":"a@b.org","homeState":"NY",
                 "licenses":[{"jurisdiction":"NJ","type":"\(type)","number":"1","status":"active"}]}
                """)
        }
        let today = CalendarDate("2020-04-03")!
        #expect(throws: FieldErrors([FieldError("licenses[0].type", "longer than 20 characters in capitals")])) {
            try VolunteerProfile.parse(try licensed(type: String(repeating: "ß", count: 11)), today: today)
        }
        let profile = try VolunteerProfile.parse(try licensed(type: String(repeating: "ß", count: 10)), today: today)
        #expect(profile.licenses[0].type == String(repeating: "SS", count: 10))
        #expect(try VolunteerProfile.parse(try JSONValue.from(profile), today: today) == profile)
    }
}
