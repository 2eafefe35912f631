import MusterCore

extension VolunteerProfile {
    /// The profile as compact JSON with sorted keys: byte for byte what `JSONEncoder` (`.sortedKeys`,
    /// `.withoutEscapingSlashes`) writes for it, and what a registration stores (tests and the registry fuzzer hold
    /// the two equal). Written directly because a bulk import stores one per row, and `JSONEncoder` cost more than
    /// everything else the server does for the row.
    public var jsonText: String {
        var json = JSONWriter(capacity: 1024)
        write(to: &json)
        return json.output
    }

    /// Appends `jsonText` to `json`.
    public func write(to json: inout JSONWriter) {
        json.beginObject()
        if let availability {
            json.key("availability")
            json.beginObject()
            json.member("from", availability.from)
            json.member("to", availability.to)
            json.endObject()
        }
        json.member("category", category.rawValue)
        json.member("consentToShare", consentToShare)
        json.optional("dateOfBirth", dateOfBirth)
        json.key("disciplinaryActions")
        json.array(disciplinaryActions) { json, action in
            json.beginObject()
            json.member("action", action.action)
            json.member("date", action.date)
            json.member("jurisdiction", action.jurisdiction)
            json.member("resolved", action.resolved)
            json.endObject()
        }
        json.optional("email", email)
        json.member("firstName", firstName)
        json.member("homeState", homeState)
        if let img {
            json.key("img")
            img.write(to: &json)
        }
        json.member("languages", languages)
        json.member("lastName", lastName)
        json.key("licenses")
        json.array(licenses) { json, license in license.write(to: &json) }
        if let location {
            json.key("location")
            json.beginObject()
            json.member("lat", location.lat)
            json.member("lon", location.lon)
            json.endObject()
        }
        json.optional("maxTravelKm", maxTravelKm)
        json.optional("npi", npi)
        json.optional("phone", phone)
        json.member("profession", profession.rawValue)
        json.member("ref", ref)
        if let retired {
            json.key("retired")
            json.beginObject()
            json.member("lastClinicalPractice", retired.lastClinicalPractice)
            json.endObject()
        }
        json.key("skills")
        json.array(skills) { json, skill in json.string(skill.rawValue) }
        if let student {
            json.key("student")
            json.beginObject()
            json.member("graduated", student.graduated)
            json.member("graduationDate", student.graduationDate)
            json.member("program", student.program.rawValue)
            json.member("school", student.school)
            json.optional("year", student.year)
            json.endObject()
        }
        json.member("telehealthOnly", telehealthOnly)
        json.endObject()
    }
}

extension VolunteerProfile.License {
    fileprivate func write(to json: inout JSONWriter) {
        json.beginObject()
        json.optional("expires", expires)
        json.optional("issued", issued)
        json.member("jurisdiction", jurisdiction)
        json.optional("lapsed", lapsed)
        json.optional("multistate", multistate)
        json.member("number", number)
        json.member("status", status.rawValue)
        json.member("type", type)
        json.endObject()
    }
}

extension VolunteerProfile.IMGDetails {
    fileprivate func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("country", country)
        json.member("ecfmgCertified", ecfmgCertified)
        json.optional("ecfmgDate", ecfmgDate)
        json.optional("ecfmgNumber", ecfmgNumber)
        json.member("graduationDate", graduationDate)
        if let homeCountryLicense {
            json.key("homeCountryLicense")
            json.beginObject()
            json.member("country", homeCountryLicense.country)
            json.member("standing", homeCountryLicense.standing.rawValue)
            json.endObject()
        }
        json.member("medicalSchool", medicalSchool)
        json.member("usGmeMonths", usGmeMonths)
        json.member("usmleStepsPassed", usmleStepsPassed)
        json.member("yearsOfPractice", yearsOfPractice)
        json.endObject()
    }
}
