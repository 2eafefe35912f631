import MusterCore

/// The body of `VOLUNTEER.IMPORT`: `{registeringState, rows: [{line, registration}]}`. Only the envelope is read
/// here; each row's registration is validated on its own (`VolunteerProfile.parse`), so one bad row never fails
/// the others.
public struct ImportEnvelope: Sendable, Equatable {
    /// The most rows one request may carry.
    public static let maxRows = 1000

    /// One row: the line of the source file it came from (for the sender's report) and its registration.
    public struct Row: Sendable, Equatable {
        public var line: Int
        public var registration: JSONValue

        public init(line: Int, registration: JSONValue) {
            self.line = line
            self.registration = registration
        }
    }

    /// Nil when the body gives none (a state token then registers in its own state).
    public var registeringState: Jurisdiction?
    /// In the order sent; lines need not be unique or sorted.
    public var rows: [Row]

    public init(registeringState: Jurisdiction?, rows: [Row]) {
        self.registeringState = registeringState
        self.rows = rows
    }

    /// Reads the envelope, reporting every bad field of it and of each row's `line` and `registration` presence.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> ImportEnvelope {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        var registeringState: Jurisdiction?
        if let code = r.string("registeringState", maxLength: 2) {
            registeringState = Jurisdiction(code)
            if registeringState == nil { r.fail("registeringState", "unknown US state or territory \"\(code)\"") }
        }
        let rows = r.array("rows", maxCount: maxRows) { value, path, errors -> Row? in
            var row = ObjectReader(value, path: path, errors: &errors)
            let line = row.integer("line", required: true, range: 1...Int(Int32.max))
            let registration = row.value("registration")
            if registration == nil { row.fail("registration", "required") }
            errors += row.finish()
            guard let line, let registration else { return nil }
            return Row(line: line, registration: registration)
        }
        if rows == nil, !r.has("rows") { r.fail("rows", "required") }
        errors += r.finish()
        guard errors.isEmpty else { throw FieldErrors(errors) }
        return ImportEnvelope(registeringState: registeringState, rows: rows ?? [])
    }
}
