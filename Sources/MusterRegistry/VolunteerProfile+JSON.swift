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
            json.key("from")
            json.string(availability.from.description)
            json.key("to")
            json.string(availability.to.description)
            json.endObject()
        }
        json.key("category")
        json.string(category.rawValue)
        json.key("consentToShare")
        json.bool(consentToShare)
        json.optional("dateOfBirth", dateOfBirth)
        json.key("disciplinaryActions")
        json.array(disciplinaryActions) { json, action in
            json.beginObject()
            json.key("action")
            json.string(action.action)
            json.key("date")
            json.string(action.date.description)
            json.key("jurisdiction")
            json.string(action.jurisdiction)
            json.key("resolved")
            json.bool(action.resolved)
            json.endObject()
        }
        json.optional("email", email)
        json.key("firstName")
        json.string(firstName)
        json.key("homeState")
        json.string(homeState)
        if let img { img.write(to: &json) }
        json.key("languages")
        json.strings(languages)
        json.key("lastName")
        json.string(lastName)
        json.key("licenses")
        json.array(licenses) { json, license in license.write(to: &json) }
        if let location {
            json.key("location")
            json.beginObject()
            json.key("lat")
            json.double(location.lat)
            json.key("lon")
            json.double(location.lon)
            json.endObject()
        }
        json.optional("maxTravelKm", maxTravelKm)
        json.optional("npi", npi)
        json.optional("phone", phone)
        json.key("profession")
        json.string(profession.rawValue)
        json.key("ref")
        json.string(ref)
        if let retired {
            json.key("retired")
            json.beginObject()
            json.key("lastClinicalPractice")
            json.string(retired.lastClinicalPractice.description)
            json.endObject()
        }
        json.key("skills")
        json.array(skills) { json, skill in json.string(skill.rawValue) }
        if let student {
            json.key("student")
            json.beginObject()
            json.key("graduated")
            json.bool(student.graduated)
            json.key("graduationDate")
            json.string(student.graduationDate.description)
            json.key("program")
            json.string(student.program.rawValue)
            json.key("school")
            json.string(student.school)
            json.optional("year", student.year)
            json.endObject()
        }
        json.key("telehealthOnly")
        json.bool(telehealthOnly)
        json.endObject()
    }
}

extension VolunteerProfile.License {
    fileprivate func write(to json: inout JSONWriter) {
        json.beginObject()
        json.optional("expires", expires)
        json.optional("issued", issued)
        json.key("jurisdiction")
        json.string(jurisdiction)
        json.optional("lapsed", lapsed)
        json.optional("multistate", multistate)
        json.key("number")
        json.string(number)
        json.key("status")
        json.string(status.rawValue)
        json.key("type")
        json.string(type)
        json.endObject()
    }
}

extension VolunteerProfile.IMGDetails {
    fileprivate func write(to json: inout JSONWriter) {
        json.key("img")
        json.beginObject()
        json.key("country")
        json.string(country)
        json.key("ecfmgCertified")
        json.bool(ecfmgCertified)
        json.optional("ecfmgDate", ecfmgDate)
        json.optional("ecfmgNumber", ecfmgNumber)
        json.key("graduationDate")
        json.string(graduationDate.description)
        if let homeCountryLicense {
            json.key("homeCountryLicense")
            json.beginObject()
            json.key("country")
            json.string(homeCountryLicense.country)
            json.key("standing")
            json.string(homeCountryLicense.standing.rawValue)
            json.endObject()
        }
        json.key("medicalSchool")
        json.string(medicalSchool)
        json.key("usGmeMonths")
        json.int(usGmeMonths)
        json.key("usmleStepsPassed")
        json.strings(usmleStepsPassed)
        json.key("yearsOfPractice")
        json.int(yearsOfPractice)
        json.endObject()
    }
}
