import MusterCore

extension VolunteerProfile {
    /// Every field of a registration, as the protocol and the CSV importer name them.
    public static let usmleSteps: Set<String> = ["1", "2CK", "2CS", "3"]

    /// Reads and validates a registration. Every problem is reported, each naming its field and rule; unknown
    /// fields are errors.
    public static func parse(_ value: JSONValue, today: CalendarDate) throws(FieldErrors) -> VolunteerProfile {
        var errors: [FieldError] = []
        var reader = ObjectReader(value, path: "", errors: &errors)
        let profile = read(&reader, today: today)
        errors += reader.finish()
        guard errors.isEmpty, let profile else {
            throw FieldErrors(errors.isEmpty ? [FieldError("body", "invalid registration")] : errors)
        }
        return profile
    }

    private static func read(_ r: inout ObjectReader, today: CalendarDate) -> VolunteerProfile? {
        let ref = r.string("ref", required: true, maxLength: 100)
        let category = r.token("category", VolunteerCategory.self, required: true)
        let profession = r.token("profession", Profession.self, required: true)
        let firstName = r.string("firstName", required: true, maxLength: 100)
        let lastName = r.string("lastName", required: true, maxLength: 100)
        let dateOfBirth = r.date("dateOfBirth")
        // Sixteen years before today (before year 17 there is no such day, and no one is old enough).
        let sixteenYearsAgo = today.adding(months: -12 * 16)
        if let dateOfBirth, dateOfBirth.year < 1900 || (sixteenYearsAgo.map { dateOfBirth > $0 } ?? true) {
            r.fail("dateOfBirth", "must be between 1900-01-01 and 16 years ago")
        }
        let email = r.string("email", maxLength: 254)
        if let email, let problem = Identifiers.emailProblem(email) { r.fail("email", problem) }
        let phone = r.string("phone", maxLength: 16)
        if let phone, let problem = Identifiers.phoneProblem(phone) { r.fail("phone", problem) }
        if email == nil, phone == nil, !r.has("email"), !r.has("phone") {
            r.fail("email", "an email or a phone number is required")
        }
        let homeStateText = r.string("homeState", required: true, maxLength: 2)
        let homeState = homeStateText.flatMap { Jurisdiction($0) }
        if let homeStateText, homeState == nil { r.fail("homeState", "unknown US state or territory \"\(homeStateText)\"") }
        let location = r.object("location") { o -> Location? in
            guard let lat = o.number("lat", required: true, range: -90...90),
                let lon = o.number("lon", required: true, range: -180...180)
            else { return nil }
            return Location(lat: lat, lon: lon)
        }
        let npi = r.string("npi", maxLength: 10)
        if let npi, let problem = Identifiers.npiProblem(npi) { r.fail("npi", problem) }
        let licenses = r.array("licenses", maxCount: 20) { value, path, errors in readLicense(value, path, &errors) } ?? []
        let actions = r.array("disciplinaryActions", maxCount: 50) { value, path, errors -> DisciplinaryAction? in
            var o = ObjectReader(value, path: path, errors: &errors)
            let jurisdiction = o.string("jurisdiction", required: true, maxLength: 2)
            if let jurisdiction, Jurisdiction(jurisdiction) == nil { o.fail("jurisdiction", "unknown US state or territory \"\(jurisdiction)\"") }
            let date = o.date("date", required: true)
            let action = o.string("action", required: true, maxLength: 500)
            let resolved = o.bool("resolved") ?? false
            errors += o.finish()
            guard let jurisdiction, let date, let action, let code = Jurisdiction(jurisdiction) else { return nil }
            return DisciplinaryAction(jurisdiction: code.code, date: date, action: action, resolved: resolved)
        } ?? []
        let skills = r.skills("skills")
        let languages = r.array("languages", maxCount: 20) { value, path, errors -> String? in
            guard case .string(let text) = value, text.count == 2, text.allSatisfy({ $0.isASCII && $0.isLowercase }) else {
                errors.append(FieldError(path, "expected a two-letter ISO 639-1 code such as \"en\""))
                return nil
            }
            return text
        } ?? []
        let availability = r.object("availability") { o -> Availability? in
            guard let from = o.date("from", required: true), let to = o.date("to", required: true) else { return nil }
            return Availability(from: from, to: to)
        }
        if let availability, availability.from > availability.to { r.fail("availability", "from after to") }
        let maxTravelKm = r.integer("maxTravelKm", range: 1...5000)
        let telehealthOnly = r.bool("telehealthOnly") ?? false
        let consent = r.bool("consentToShare") ?? false
        let img = r.object("img") { o in readIMG(&o, today: today) }
        let retired = r.object("retired") { o -> RetiredDetails? in
            guard let last = o.date("lastClinicalPractice", required: true) else { return nil }
            if last > today { o.fail("lastClinicalPractice", "is in the future") }
            return RetiredDetails(lastClinicalPractice: last)
        }
        let student = r.object("student") { o -> StudentDetails? in
            let school = o.string("school", required: true)
            let program = o.token("program", StudentDetails.Program.self, required: true)
            let year = o.integer("year", range: 1...8)
            let graduation = o.date("graduationDate", required: true)
            let graduated = o.bool("graduated") ?? false
            if let graduation, graduated, graduation > today { o.fail("graduationDate", "is in the future but graduated is true") }
            guard let school, let program, let graduation else { return nil }
            return StudentDetails(school: school, program: program, year: year, graduationDate: graduation, graduated: graduated)
        }

        // Category rules: each pathway needs its own details and no other pathway's.
        if let category {
            let details: [(String, Bool)] = [("img", r.has("img")), ("retired", r.has("retired")), ("student", r.has("student"))]
            for (key, present) in details where present && key != category.rawValue {
                r.fail(key, "not allowed for category \(category.rawValue)")
            }
            switch category {
            case .img:
                if !r.has("img") { r.fail("img", "required for category img") }
                if let profession, profession != .physician { r.fail("profession", "must be physician for category img") }
            case .retired:
                if !r.has("retired") { r.fail("retired", "required for category retired") }
                if licenses.isEmpty, !r.has("licenses") { r.fail("licenses", "a retired clinician lists at least one licence") }
            case .student:
                if !r.has("student") { r.fail("student", "required for category student") }
                let allowed: Set<Profession> = [.medicalStudent, .nursingStudent, .physician, .registeredNurse]
                if let profession, !allowed.contains(profession) {
                    r.fail("profession", "must be medical_student, nursing_student, physician or registered_nurse for category student")
                }
            case .licensed:
                if !licenses.contains(where: { $0.status == .active }) {
                    r.fail("licenses", "category licensed needs at least one active licence")
                }
            }
        }
        guard let ref, let category, let profession, let firstName, let lastName, let homeState else { return nil }
        return VolunteerProfile(
            ref: ref, category: category, profession: profession, firstName: firstName, lastName: lastName,
            dateOfBirth: dateOfBirth, email: email?.lowercased(), phone: phone, homeState: homeState.code,
            location: location, npi: npi, licenses: licenses, disciplinaryActions: actions, skills: skills,
            languages: languages, availability: availability, maxTravelKm: maxTravelKm, telehealthOnly: telehealthOnly,
            img: img, retired: retired, student: student, consentToShare: consent)
    }

    private static func readLicense(_ value: JSONValue, _ path: String, _ errors: inout [FieldError]) -> License? {
        var o = ObjectReader(value, path: path, errors: &errors)
        let jurisdiction = o.string("jurisdiction", required: true, maxLength: 2)
        let code = jurisdiction.flatMap { Jurisdiction($0) }
        if let jurisdiction, code == nil { o.fail("jurisdiction", "unknown US state or territory \"\(jurisdiction)\"") }
        let type = o.string("type", required: true, maxLength: 20)
        // Stored in capitals, which can be longer ("ß" is "SS"): the stored record must validate again.
        if let type, type.uppercased().count > 20 { o.fail("type", "longer than 20 characters in capitals") }
        let number = o.string("number", required: true, maxLength: 40)
        let status = o.token("status", LicenseStatus.self, required: true)
        let issued = o.date("issued")
        let expires = o.date("expires")
        let lapsed = o.date("lapsed")
        let multistate = o.bool("multistate")
        if let issued, let expires, issued > expires { o.fail("expires", "before issued") }
        if let status, status == .lapsed || status == .inactive, lapsed == nil {
            o.fail("lapsed", "required when status is \(status.rawValue) (the date it lapsed or was made inactive)")
        }
        errors += o.finish()
        guard let code, let type, let number, let status else { return nil }
        return License(
            jurisdiction: code.code, type: type.uppercased(), number: number, status: status, issued: issued,
            expires: expires, lapsed: lapsed, multistate: multistate == true ? true : nil)
    }

    private static func readIMG(_ o: inout ObjectReader, today: CalendarDate) -> IMGDetails? {
        let school = o.string("medicalSchool", required: true)
        let country = o.string("country", required: true, maxLength: 100)
        let graduation = o.date("graduationDate", required: true)
        if let graduation, graduation > today { o.fail("graduationDate", "is in the future") }
        let certified = o.bool("ecfmgCertified", required: true)
        let number = o.string("ecfmgNumber", maxLength: 20)
        let certifiedOn = o.date("ecfmgDate")
        if certified == true, number == nil { o.fail("ecfmgNumber", "required when ecfmgCertified is true") }
        let steps = o.array("usmleStepsPassed", maxCount: 4) { value, path, errors -> String? in
            guard case .string(let text) = value, VolunteerProfile.usmleSteps.contains(text) else {
                errors.append(FieldError(path, "expected one of 1, 2CK, 2CS, 3"))
                return nil
            }
            return text
        } ?? []
        let months = o.integer("usGmeMonths", required: true, range: 0...240)
        let home = o.object("homeCountryLicense") { h -> HomeCountryLicense? in
            guard let country = h.string("country", required: true, maxLength: 100),
                let standing = h.token("standing", HomeCountryLicense.Standing.self, required: true)
            else { return nil }
            return HomeCountryLicense(country: country, standing: standing)
        }
        let years = o.integer("yearsOfPractice", range: 0...70) ?? 0
        guard let school, let country, let graduation, let certified, let months else { return nil }
        return IMGDetails(
            medicalSchool: school, country: country, graduationDate: graduation, ecfmgCertified: certified,
            ecfmgNumber: number, ecfmgDate: certifiedOn, usmleStepsPassed: steps, usGmeMonths: months,
            homeCountryLicense: home, yearsOfPractice: years)
    }
}

extension ObjectReader {
    /// An optional array of skills from the controlled vocabulary, each named in its error, without repeats.
    public mutating func skills(_ key: String) -> [Skill] {
        let skills = array(key, maxCount: Skill.allCases.count) { value, path, errors -> Skill? in
            guard case .string(let text) = value else {
                errors.append(FieldError(path, "expected a string, got \(value.typeName)"))
                return nil
            }
            guard let skill = Skill(rawValue: text) else {
                errors.append(FieldError(path, "unknown skill \"\(text.prefix(40))\" (see PROTOCOL.md for the vocabulary)"))
                return nil
            }
            return skill
        } ?? []
        if Set(skills).count != skills.count { fail(key, "duplicate entries") }
        return skills
    }
}
