import Foundation

/// The CSV layout of a volunteer registration, for bulk intake from the spreadsheets departments already keep.
///
/// One row per volunteer, one licence per row (the common case in state rosters; more licences can be added
/// afterwards with `VOLUNTEER.UPDATE`). List cells (`skills`, `languages`, `img_usmle_steps`) separate values with
/// `;`. An empty cell means "not given". The header must name only known columns, in any order; `ref`, `category`,
/// `profession`, `first_name`, `last_name` and `home_state` are required.
public enum VolunteerCSV {
    /// Column → where it goes in the registration object, and how to read the cell.
    enum Kind {
        case text, number, integer, boolean, list
    }

    private static let columnsByName = Dictionary(uniqueKeysWithValues: columns.map { ($0.name, $0) })

    static let columns: [(name: String, path: [String], kind: Kind)] = [
        ("ref", ["ref"], .text), ("category", ["category"], .text), ("profession", ["profession"], .text),
        ("first_name", ["firstName"], .text), ("last_name", ["lastName"], .text),
        ("date_of_birth", ["dateOfBirth"], .text), ("email", ["email"], .text), ("phone", ["phone"], .text),
        ("home_state", ["homeState"], .text), ("lat", ["location", "lat"], .number), ("lon", ["location", "lon"], .number),
        ("npi", ["npi"], .text),
        ("license_jurisdiction", ["licenses", "jurisdiction"], .text), ("license_type", ["licenses", "type"], .text),
        ("license_number", ["licenses", "number"], .text), ("license_status", ["licenses", "status"], .text),
        ("license_issued", ["licenses", "issued"], .text), ("license_expires", ["licenses", "expires"], .text),
        ("license_lapsed", ["licenses", "lapsed"], .text),
        ("skills", ["skills"], .list), ("languages", ["languages"], .list),
        ("available_from", ["availability", "from"], .text), ("available_to", ["availability", "to"], .text),
        ("max_travel_km", ["maxTravelKm"], .integer), ("telehealth_only", ["telehealthOnly"], .boolean),
        ("consent_to_share", ["consentToShare"], .boolean),
        ("img_medical_school", ["img", "medicalSchool"], .text), ("img_country", ["img", "country"], .text),
        ("img_graduation_date", ["img", "graduationDate"], .text), ("img_ecfmg_certified", ["img", "ecfmgCertified"], .boolean),
        ("img_ecfmg_number", ["img", "ecfmgNumber"], .text), ("img_ecfmg_date", ["img", "ecfmgDate"], .text),
        ("img_usmle_steps", ["img", "usmleStepsPassed"], .list), ("img_us_gme_months", ["img", "usGmeMonths"], .integer),
        ("img_home_license_country", ["img", "homeCountryLicense", "country"], .text),
        ("img_home_license_standing", ["img", "homeCountryLicense", "standing"], .text),
        ("img_years_of_practice", ["img", "yearsOfPractice"], .integer),
        ("retired_last_clinical_practice", ["retired", "lastClinicalPractice"], .text),
        ("student_school", ["student", "school"], .text), ("student_program", ["student", "program"], .text),
        ("student_year", ["student", "year"], .integer), ("student_graduation_date", ["student", "graduationDate"], .text),
        ("student_graduated", ["student", "graduated"], .boolean),
    ]

    /// Every column name, in the documented order.
    public static var header: [String] { columns.map(\.name) }

    static let required: Set<String> = ["ref", "category", "profession", "first_name", "last_name", "home_state"]

    /// Checks a header row: unknown or repeated columns, and required ones missing, are errors.
    public static func validateHeader(_ names: [String]) -> [String] {
        var problems: [String] = []
        let known = Set(header)
        var seen: Set<String> = []
        for name in names {
            if !known.contains(name) { problems.append("unknown column \"\(name)\"") }
            if !seen.insert(name).inserted { problems.append("column \"\(name)\" appears twice") }
        }
        for name in header where required.contains(name) && !seen.contains(name) {
            problems.append("required column \"\(name)\" is missing")
        }
        return problems
    }

    /// Turns one row into a registration object; cells that cannot be read as their type are errors naming the
    /// column.
    public static func registration(header names: [String], cells: [String]) -> (JSONValue?, [FieldError]) {
        var object: [String: JSONValue] = [:]
        var licence: [String: JSONValue] = [:]
        var errors: [FieldError] = []
        guard cells.count == names.count else {
            return (nil, [FieldError("row", "has \(cells.count) cells, the header has \(names.count)")])
        }
        for (name, raw) in zip(names, cells) {
            let cell = raw.trimmingWhitespace
            guard !cell.isEmpty, let column = columnsByName[name] else { continue }
            let value: JSONValue
            switch column.kind {
            case .text:
                value = .string(cell)
            case .number:
                // Swift reads "inf" and "nan" as numbers; JSON has neither.
                guard let number = Double(cell), number.isFinite else {
                    errors.append(FieldError(name, "expected a number, got \"\(cell.prefix(40))\""))
                    continue
                }
                value = .number(number)
            case .integer:
                guard let number = Int64(cell) else {
                    errors.append(FieldError(name, "expected a whole number, got \"\(cell.prefix(40))\""))
                    continue
                }
                value = .integer(number)
            case .boolean:
                switch cell.lowercased() {
                case "true", "yes", "y", "1": value = .bool(true)
                case "false", "no", "n", "0": value = .bool(false)
                default:
                    errors.append(FieldError(name, "expected true or false, got \"\(cell.prefix(40))\""))
                    continue
                }
            case .list:
                value = .array(cell.split(separator: ";").map { .string($0.trimmingWhitespace) })
            }
            if column.path[0] == "licenses" {
                licence[column.path[1]] = value
            } else {
                set(&object, column.path, value)
            }
        }
        if !licence.isEmpty { object["licenses"] = .array([.object(licence)]) }
        return (errors.isEmpty ? .object(object) : nil, errors)
    }

    static func set(_ object: inout [String: JSONValue], _ path: [String], _ value: JSONValue) {
        guard path.count > 1 else {
            object[path[0]] = value
            return
        }
        var nested: [String: JSONValue]
        if case .object(let existing) = object[path[0]] { nested = existing } else { nested = [:] }
        set(&nested, Array(path.dropFirst()), value)
        object[path[0]] = .object(nested)
    }

    /// The CSV column for a registration field path, so errors name what the department's spreadsheet calls it
    /// (`licenses[0].status` → `license_status`).
    public static func column(forField field: String) -> String {
        let normalized = field.replacingOccurrences(of: "[0]", with: "")
        let parts = normalized.split(separator: ".").map(String.init)
        if let match = columns.first(where: { $0.path == parts }) { return match.name }
        if let match = columns.first(where: { $0.path.first == parts.first }), parts.count == 1, match.path.count == 1 {
            return match.name
        }
        return field
    }
}

/// A strict RFC 4180 reader: fields separated by commas, optionally in double quotes (with `""` for a quote),
/// records ending in LF or CRLF; quoted fields may hold commas and line breaks.
public struct CSVReader: Sendable {
    private let bytes: [UInt8]
    private var index = 0
    /// The 1-based line where the record last returned starts.
    public private(set) var line = 1
    private var nextLine = 1

    /// How much of the input has been read, from 0 to 1.
    public var fractionRead: Double { bytes.isEmpty ? 1 : Double(index) / Double(bytes.count) }

    public init(_ bytes: [UInt8]) {
        var bytes = bytes
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }  // a spreadsheet's byte-order mark
        self.bytes = bytes
    }

    /// The next record, nil at the end; a malformed record throws with its line.
    public mutating func next() throws(FieldError) -> [String]? {
        guard index < bytes.count else { return nil }
        line = nextLine
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var startOfField = true
        while index < bytes.count {
            let byte = bytes[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if index + 1 < bytes.count, bytes[index + 1] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index += 2
                        continue
                    }
                    quoted = false
                    index += 1
                    if index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "\n"), UInt8(ascii: "\r")].contains(bytes[index]) {
                        throw FieldError("line \(nextLine)", "text after a closing quote")
                    }
                    continue
                }
                if byte == UInt8(ascii: "\n") { nextLine += 1 }
                field.append(byte)
                index += 1
                continue
            }
            switch byte {
            case UInt8(ascii: "\""):
                guard startOfField else { throw FieldError("line \(nextLine)", "a quote inside an unquoted field") }
                quoted = true
                startOfField = false
                index += 1
            case UInt8(ascii: ","):
                fields.append(try text(field))
                field = []
                startOfField = true
                index += 1
            case UInt8(ascii: "\r") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"):
                index += 1
            case UInt8(ascii: "\n"):
                index += 1
                nextLine += 1
                fields.append(try text(field))
                return fields
            default:
                startOfField = false
                field.append(byte)
                index += 1
            }
        }
        if quoted { throw FieldError("line \(line)", "a quoted field is not closed before the end of the file") }
        fields.append(try text(field))
        return fields
    }

    private func text(_ field: [UInt8]) throws(FieldError) -> String {
        guard let text = String(validating: field, as: UTF8.self) else {
            throw FieldError("line \(nextLine)", "not valid UTF-8 (save the file as UTF-8)")
        }
        return text
    }
}

extension VolunteerCSV {
    /// The cells of one registration in `header` order, for export. A CSV row holds one licence: the first.
    public static func cells(for profile: VolunteerProfile) throws -> [String] {
        guard case .object(let object) = try JSONValue.from(profile) else { return header.map { _ in "" } }
        return columns.map { column in
            var value: JSONValue? = .object(object)
            for (depth, key) in column.path.enumerated() {
                guard case .object(let members) = value else { value = nil; break }
                value = members[key]
                if depth == 0, key == "licenses", case .array(let licences) = value { value = licences.first }
            }
            return text(value)
        }
    }

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case nil, .null?: return ""
        case .bool(let flag)?: return flag ? "true" : "false"
        case .integer(let number)?: return String(number)
        case .number(let number)?: return String(number)
        case .string(let text)?: return text
        case .array(let items)?: return items.map { text($0) }.joined(separator: ";")
        case .object?: return ""
        }
    }

    /// One CSV record: fields quoted when they hold a comma, quote or line break.
    ///
    /// Looks at bytes, not Characters, as `CSVReader` does: `"\r\n"` is one Character (equal to neither `"\r"` nor
    /// `"\n"`), and so is a comma or quote followed by a combining mark.
    public static func record(_ cells: [String]) -> String {
        cells.map { cell in
            let special: (UInt8) -> Bool = { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == 0x0A || $0 == 0x0D }
            guard cell.utf8.contains(where: special) else { return cell }
            var quoted = "\""
            for scalar in cell.unicodeScalars {
                if scalar == "\"" { quoted.unicodeScalars.append("\"") }
                quoted.unicodeScalars.append(scalar)
            }
            return quoted + "\""
        }.joined(separator: ",")
    }
}
