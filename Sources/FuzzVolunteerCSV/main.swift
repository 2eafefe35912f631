// Fuzzes the CSV importer of MusterRegistry: `CSVReader` over a file's bytes, then what `musterctl import` does
// with the records (`VolunteerCSV.validateHeader`, `VolunteerCSV.registration`, `VolunteerProfile.parse`), and the
// exporter (`VolunteerCSV.cells`, `VolunteerCSV.record`).
//
// Invariants:
// - the reader always ends (every record consumes input), records are never empty, line numbers never go back;
// - records written back with `VolunteerCSV.record` (after a byte-order mark, as spreadsheets write) read back as
//   the same records;
// - a row that imports as a valid registration exports (`cells`) to a row that imports as the same profile.
import Foundation
import FuzzSupport
import MusterCore
import MusterRegistry

let today = CalendarDate(year: 2020, month: 4, day: 3)!

/// Every record up to the end or the first malformed one, with the line each starts on.
func readAll(_ bytes: [UInt8]) -> (records: [[String]], lines: [Int], failed: Bool) {
    var reader = CSVReader(bytes)
    var records: [[String]] = []
    var lines: [Int] = []
    while true {
        do throws(FieldError) {
            guard let record = try reader.next() else { return (records, lines, false) }
            precondition(!record.isEmpty, "an empty record")
            precondition(reader.line >= (lines.last ?? 1), "line numbers went back")
            records.append(record)
            lines.append(reader.line)
            precondition(records.count <= bytes.count, "more records than bytes: the reader does not advance")
        } catch {
            precondition(error.field.hasPrefix("line "), "a reader error names \(error.field), not a line")
            _ = error.description
            return (records, lines, true)
        }
    }
}

func checkRewrite(_ records: [[String]]) {
    guard !records.isEmpty else { return }
    let text = "\u{FEFF}" + records.map(VolunteerCSV.record).joined(separator: "\n") + "\n"
    let again = readAll(Array(text.utf8))
    precondition(!again.failed, "records written by VolunteerCSV.record do not read back:\n\(text)")
    precondition(again.records == records, "records \(records) were written and read back as \(again.records)")
}

func checkExport(_ profile: VolunteerProfile) {
    let cells: [String]
    do { cells = try VolunteerCSV.cells(for: profile) } catch { preconditionFailure("a valid profile cannot be exported: \(error)") }
    precondition(cells.count == VolunteerCSV.header.count, "an export row has \(cells.count) cells")
    let line = VolunteerCSV.record(cells) + "\r\n"
    let read = readAll(Array(line.utf8))
    precondition(!read.failed && read.records == [cells], "the export row \(line) reads back as \(read.records)")
    let (registration, errors) = VolunteerCSV.registration(header: VolunteerCSV.header, cells: cells)
    guard let registration, errors.isEmpty else { preconditionFailure("an exported row does not import: \(errors)") }
    do throws(FieldErrors) {
        let again = try VolunteerProfile.parse(registration, today: today)
        precondition(again == profile, "an exported row imports as a different profile:\n\(profile)\n\(again)")
    } catch {
        preconditionFailure("an exported row does not validate: \(error)\nrow: \(line)")
    }
}

Fuzz.main { raw in
    // Records up to a malformed one are used, as `musterctl import` reports the bad record and stops there.
    let records = readAll(Array(raw)).records
    checkRewrite(records)
    guard let first = records.first else { return }

    // What `musterctl import` does with the file.
    let header = first.map { $0.trimmingCharacters(in: .whitespaces) }
    let problems = VolunteerCSV.validateHeader(header)
    guard problems.isEmpty else { return }
    for cells in records.dropFirst() {
        if cells.count == 1, cells[0].trimmingCharacters(in: .whitespaces).isEmpty { continue }
        let (registration, errors) = VolunteerCSV.registration(header: header, cells: cells)
        precondition((registration == nil) == !errors.isEmpty, "a row both imported and failed, or neither")
        for error in errors { _ = VolunteerCSV.column(forField: error.field) }
        guard let registration else { continue }
        do throws(FieldErrors) {
            let profile = try VolunteerProfile.parse(registration, today: today)
            precondition(profile.licenses.count <= 1, "a CSV row gave \(profile.licenses.count) licences")
            checkExport(profile)
        } catch {
            for field in error.errors.map(\.field) { _ = VolunteerCSV.column(forField: field) }
        }
    }
}
