import Foundation
import MusterCore
import MusterRegistry

/// Synthetic but valid volunteers, as CSV rows in `VolunteerCSV.header` order: the same rows feed the CSV file
/// (`muster-bench csv`, the import scenario, psql's `\copy` in Deploy/bench/compare.sh) and the registrations the
/// protocol scenarios send.
///
/// Row `index` of a run tagged `tag` is always the same row. Everything a registration is de-duplicated on is
/// unique within a run and, with a fresh tag, across runs: the ref and licence number carry the tag, NPIs are
/// drawn from a range chosen by the tag, and the name and date of birth come from a large space (within one
/// generated file, repeats are redrawn).
struct Synthetic {
    let tag: String
    /// Today, for dates that must lie in the past or around now.
    let today: CalendarDate
    private let seed: UInt64
    private let npiBase: Int

    init(tag: String, today: CalendarDate) {
        self.tag = tag
        self.today = today
        // FNV-1a over the tag: a seed and an NPI range of this run.
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in tag.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01B3
        }
        seed = hash
        npiBase = 100_000_000 + Int(hash % 790_000_000)
    }

    static let header = VolunteerCSV.header
    static let column: [String: Int] = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($1, $0) })

    static let firstNames = [
        "Ana", "Sam", "Maria", "James", "Priya", "Wei", "Fatima", "John", "Aisha", "Carlos", "Olga", "David", "Mei",
        "Ahmed", "Grace", "Luis", "Nkechi", "Robert", "Sofia", "Daniel", "Yuki", "Elena", "Michael", "Amara",
        "Jose", "Hannah", "Rahul", "Chloe", "Omar", "Linda", "Kwame", "Sarah", "Ivan", "Leila", "Thomas", "Rosa",
        "Chen", "Emily", "Mohammed", "Julia", "Tariq", "Laura", "Dmitri", "Nadia", "Peter", "Ines", "Kofi", "Rachel",
        "Arjun", "Isabel", "Hiroshi", "Zainab", "Paul", "Camila", "Sergei", "Esther", "Andre", "Lucia", "Jamal",
        "Anna", "Mateo", "Ngozi", "Kevin", "Marta", "Ali", "Rebecca", "Diego", "Helen", "Youssef", "Claire",
    ]
    static let lastNames = [
        "Pérez", "Okafor", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
        "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
        "Martin", "Lee", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson", "Walker",
        "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson",
        "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts", "Patel", "Shah", "Kim", "Chen",
        "Wang", "Singh", "Kumar", "Cohen", "Friedman", "O'Brien", "Murphy", "Kowalski", "Novak", "Ivanova", "Petrov",
        "Adeyemi", "Mensah", "Haddad", "Nasser", "Yamamoto", "Tanaka", "Rossi", "Bianchi", "Müller", "Schmidt",
        "Dubois", "Moreau", "Silva", "Santos", "Costa", "Oliveira", "Andersson", "Nilsson", "Horvat", "Popescu",
    ]
    static let homeStates = ["NY", "NY", "NY", "NY", "NY", "NY", "NJ", "NJ", "CT", "PA", "MA", "FL", "TX", "CA", "IL", "MI", "OH"]
    static let languages = ["es", "zh", "ru", "ht", "bn", "ko", "fr", "ar", "yi", "pl", "it", "hi"]
    static let schools = [
        "Universidad Central de Venezuela", "University of Lagos", "All India Institute of Medical Sciences",
        "Cairo University", "Universidad de Buenos Aires", "University of the Philippines", "Peking University",
        "Jagiellonian University", "University of Karachi", "Universidad Nacional Autónoma de México",
    ]
    static let schoolCountries = ["VE", "NG", "IN", "EG", "AR", "PH", "CN", "PL", "PK", "MX"]
    static let usSchools = [
        "NYU Grossman", "Columbia VP&S", "Weill Cornell", "SUNY Downstate", "Albany Medical College",
        "Hunter-Bellevue School of Nursing", "Stony Brook School of Nursing", "University of Rochester", "Mount Sinai",
    ]
    /// Profession, licence type and the skills that profession plausibly lists.
    static let licensedProfessions: [(String, String, [Skill])] = [
        ("registered_nurse", "RN", [.criticalCare, .medSurg, .telemetry, .emergency, .ivTherapy, .infectionControl, .geriatrics, .pediatrics]),
        ("registered_nurse", "RN", [.criticalCare, .ventilator, .emergency, .triage, .woundCare]),
        ("physician", "MD", [.criticalCare, .emergency, .anesthesia, .primaryCare, .infectiousDisease, .pediatrics, .obstetrics]),
        ("licensed_practical_nurse", "LPN", [.geriatrics, .woundCare, .vaccination, .medSurg]),
        ("nurse_practitioner", "NP", [.primaryCare, .telehealth, .criticalCare, .behavioralHealth]),
        ("physician_assistant", "PA", [.emergency, .primaryCare, .criticalCare]),
        ("respiratory_therapist", "RRT", [.ventilator, .airwayManagement, .criticalCare]),
        ("pharmacist", "RPH", [.pharmacyDispensing, .vaccination]),
        ("paramedic", "EMT-P", [.emergency, .triage, .airwayManagement]),
        ("emt", "EMT", [.emergency, .triage]),
    ]

    /// Row `index` (0-based).
    func cells(_ index: Int) -> [String] {
        var random = SplitMix64(state: seed ^ (UInt64(index) &* 0x9E37_79B9_7F4A_7C15))
        var cells = [String](repeating: "", count: Self.header.count)
        func set(_ name: String, _ value: String) { cells[Self.column[name]!] = value }
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        func chance(_ percent: Int) -> Bool { Int(random.next() % 100) < percent }
        func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(random.next() % UInt64(range.count)) }
        func date(_ from: CalendarDate, plusDays range: ClosedRange<Int>) -> String { from.adding(days: int(range)).description }

        let first = pick(Self.firstNames)
        let last = chance(40) ? pick(Self.lastNames) + "-" + surname(index) : surname(index)
        let home = pick(Self.homeStates)
        set("ref", "\(tag)-\(String(format: "%07d", index))")
        set("first_name", first)
        set("last_name", last)
        set("date_of_birth", date(CalendarDate("1945-01-01")!, plusDays: 0...(365 * 55)))
        let mailbox = "\(first).\(last)".lowercased().unicodeScalars.filter { $0.isASCII && ($0 == "." || CharacterSet.alphanumerics.contains($0)) }
        set("email", "\(String(String.UnicodeScalarView(mailbox))).\(index)@\(pick(["example.org", "example.com", "mail.example.net"]))")
        if chance(80) { set("phone", "+1\(pick(["212", "718", "917", "646", "516", "914", "585", "716", "201", "973"]))\(int(2_000_000...9_999_999))") }
        set("home_state", home)
        // Around New York State, more in and near the city.
        let (lat, lon) = chance(60) ? (40.55 + Double(int(0...400)) / 1000, -74.15 + Double(int(0...450)) / 1000)
            : (40.5 + Double(int(0...2_500)) / 1000, -79.7 + Double(int(0...6_000)) / 1000)
        set("lat", String(format: "%.4f", lat))
        set("lon", String(format: "%.4f", lon))
        var languages = ["en"]
        if chance(40) { languages.append(pick(Self.languages)) }
        set("languages", languages.joined(separator: ";"))
        let from = CalendarDate("2020-03-25")!.adding(days: int(0...20))
        set("available_from", from.description)
        set("available_to", from.adding(days: int(30...180)).description)
        set("max_travel_km", String(pick([10, 25, 40, 50, 80, 100, 150, 250])))
        if chance(5) { set("telehealth_only", "true") }
        if chance(10) { set("consent_to_share", "false") }

        let npi = npi(index)
        let number = "\(tag)-\(index)"
        switch int(0...99) {
        case 0..<50:  // Licensed elsewhere (or in New York).
            let (profession, type, skills) = pick(Self.licensedProfessions)
            set("category", "licensed")
            set("profession", profession)
            if ["physician", "nurse_practitioner", "physician_assistant"].contains(profession) || chance(20) { set("npi", npi) }
            set("license_jurisdiction", chance(30) ? "NY" : home == "NY" ? pick(["NJ", "CT", "PA", "MA", "FL"]) : home)
            set("license_type", type)
            set("license_number", number)
            set("license_status", "active")
            let issued = CalendarDate("1995-01-01")!.adding(days: int(0...(365 * 24)))
            set("license_issued", issued.description)
            set("license_expires", CalendarDate("2020-06-30")!.adding(days: int(0...(365 * 9))).description)
            set("skills", pickSkills(skills, &random))
        case 50..<70:  // Retired or inactive.
            let (profession, type, skills) = pick(Array(Self.licensedProfessions.prefix(3)))
            set("category", "retired")
            set("profession", profession)
            if profession == "physician" { set("npi", npi) }
            let lapsed = CalendarDate("2020-03-01")!.adding(days: -int(30...(365 * 12)))
            set("license_jurisdiction", chance(70) ? "NY" : home)
            set("license_type", type)
            set("license_number", number)
            let inactive = chance(30)
            set("license_status", inactive ? "inactive" : "lapsed")
            set("license_issued", lapsed.adding(days: -int(365 * 5...365 * 35)).description)
            set("license_lapsed", lapsed.description)
            set("retired_last_clinical_practice", lapsed.adding(days: -int(0...200)).description)
            set("skills", pickSkills(skills, &random))
        case 70..<85:  // International medical graduate.
            set("category", "img")
            set("profession", "physician")
            let school = int(0...(Self.schools.count - 1))
            set("img_medical_school", Self.schools[school])
            set("img_country", Self.schoolCountries[school])
            let graduated = CalendarDate("1990-06-30")!.adding(days: int(0...(365 * 29)))
            set("img_graduation_date", graduated.description)
            let certified = chance(70)
            set("img_ecfmg_certified", certified ? "true" : "false")
            if certified {
                set("img_ecfmg_number", "0-\(int(100...999))-\(int(100...999))-\(int(0...9))")
                set("img_ecfmg_date", graduated.adding(days: int(100...900)).description)
                set("img_usmle_steps", pick(["1;2CK", "1;2CK;2CS", "1;2CK;2CS;3", "1"]))
            }
            set("img_us_gme_months", String(pick([0, 0, 0, 6, 11, 12, 24, 36])))
            set("img_home_license_country", Self.schoolCountries[school])
            set("img_home_license_standing", chance(92) ? "good" : pick(["lapsed", "restricted"]))
            set("img_years_of_practice", String(int(0...25)))
            set("skills", pickSkills([.criticalCare, .emergency, .primaryCare, .infectiousDisease, .pediatrics, .obstetrics], &random))
        default:  // Student or recent graduate.
            set("category", "student")
            let medicine = chance(45)
            set("profession", medicine ? "medical_student" : "nursing_student")
            set("student_school", pick(Self.usSchools))
            set("student_program", medicine ? "medicine" : "nursing")
            set("student_year", String(int(1...4)))
            let graduation = CalendarDate("2020-05-15")!.adding(days: int(-60...400))
            set("student_graduation_date", graduation.description)
            set("student_graduated", graduation < CalendarDate("2020-04-01")! && chance(80) ? "true" : "false")
            set("skills", pickSkills([.triage, .vaccination, .infectionControl, .telehealth], &random))
        }
        return cells
    }

    private func pickSkills(_ from: [Skill], _ random: inout SplitMix64) -> String {
        var chosen: [String] = []
        for skill in from where Int(random.next() % 100) < 35 { chosen.append(skill.rawValue) }
        return chosen.joined(separator: ";")
    }

    static let syllables = [
        "ka", "lo", "mi", "ra", "sen", "tor", "vel", "dan", "bri", "co", "fer", "gal", "hol", "jin", "kes", "lan",
        "mor", "nav", "os", "pra", "quin", "ros", "sal", "tem", "ul", "var", "wen", "yar", "zel", "bor", "cha", "dro",
    ]

    /// A made-up surname of four syllables, distinct for each index of a run (up to 32⁴), so that no two rows of a
    /// run, and hardly any two rows of different runs, share a name and date of birth (a de-duplication key).
    func surname(_ index: Int) -> String {
        // An odd multiplier is a bijection modulo 2²⁰: neighbouring indexes get unrelated names.
        var n = ((npiBase + index) &* 0x9E3B5) & 0xFFFFF
        var name = ""
        for _ in 0..<4 {
            name += Self.syllables[n % 32]
            n /= 32
        }
        return name.prefix(1).uppercased() + name.dropFirst()
    }

    /// A valid NPI (Luhn over the prefix 80840 and the first nine digits), distinct for each index of a run.
    func npi(_ index: Int) -> String {
        let body = (npiBase + index) % 900_000_000 + 100_000_000
        let digits = [8, 0, 8, 4, 0] + String(body).compactMap(\.wholeNumberValue)
        var sum = 0
        // The check digit sits at the end, so the doubled digits are those at odd offsets from it.
        for (offset, digit) in digits.reversed().enumerated() {
            if offset % 2 == 0 {
                let doubled = digit * 2
                sum += doubled > 9 ? doubled - 9 : doubled
            } else {
                sum += digit
            }
        }
        return String(body) + String((10 - sum % 10) % 10)
    }

    /// The registration object for row `index`, as `VOLUNTEER.REGISTER` takes it, with `registeringState` added.
    func registrationJSON(_ index: Int, registeringState: String, encoder: JSONEncoder) -> String {
        let (value, _) = VolunteerCSV.registration(header: Self.header, cells: cells(index))
        guard case .object(var object)? = value else { return "{}" }
        object["registeringState"] = .string(registeringState)
        return String(decoding: (try? encoder.encode(JSONValue.object(object))) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// The whole file: header and `rows` rows, with no name and date of birth repeated.
    func csv(rows: Int) -> String {
        var text = VolunteerCSV.record(Self.header) + "\n"
        text.reserveCapacity(rows * 420)
        var people: Set<String> = []
        let first = Self.column["first_name"]!, last = Self.column["last_name"]!, born = Self.column["date_of_birth"]!
        var index = 0
        var written = 0
        while written < rows {
            let row = cells(index)
            index += 1
            guard people.insert("\(row[first].lowercased())|\(row[last].lowercased())|\(row[born])").inserted else { continue }
            text += VolunteerCSV.record(row) + "\n"
            written += 1
        }
        return text
    }
}
