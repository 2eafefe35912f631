import MusterCore

/// A hospital's staffing request as `REQUEST.SUBMIT` describes it:
/// `{facilityId, profession, skills, maxCredentialLevel, count, start, end, priority, notes}`.
public struct StaffingRequestInput: Sendable, Equatable {
    /// Nil when the body gives none (a hospital token then submits for its own facility).
    public var facilityID: Int64?
    public var profession: Profession
    public var skills: [Skill]
    /// The least verified credential level the site accepts (1 fully verified … 4 self-attested).
    public var maxCredentialLevel: Int
    public var count: Int
    public var start: CalendarDate
    public var end: CalendarDate
    /// 1 (most urgent) to 5.
    public var priority: Int
    public var notes: String

    public init(
        facilityID: Int64?, profession: Profession, skills: [Skill], maxCredentialLevel: Int, count: Int,
        start: CalendarDate, end: CalendarDate, priority: Int, notes: String
    ) {
        self.facilityID = facilityID
        self.profession = profession
        self.skills = skills
        self.maxCredentialLevel = maxCredentialLevel
        self.count = count
        self.start = start
        self.end = end
        self.priority = priority
        self.notes = notes
    }

    /// Reads the body, reporting every bad field.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> StaffingRequestInput {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        let facilityID = r.integer("facilityId", range: 1...Int.max).map(Int64.init)
        let profession = r.token("profession", Profession.self, required: true)
        let skills = r.skills("skills")
        let maxCredentialLevel = r.integer("maxCredentialLevel", required: true, range: 1...4)
        let count = r.integer("count", required: true, range: 1...10_000)
        let start = r.date("start", required: true)
        let end = r.date("end", required: true)
        if let start, let end, end < start { r.fail("end", "before start") }
        let priority = r.integer("priority", required: true, range: 1...5)
        let notes = r.string("notes", maxLength: 2000) ?? ""
        errors += r.finish()
        guard errors.isEmpty, let profession, let maxCredentialLevel, let count, let start, let end, let priority else {
            throw FieldErrors(errors)
        }
        return StaffingRequestInput(
            facilityID: facilityID, profession: profession, skills: skills, maxCredentialLevel: maxCredentialLevel,
            count: count, start: start, end: end, priority: priority, notes: notes)
    }
}
