import MusterCore

/// A facility as `FACILITY.CREATE` describes it: `{state, name, kind, lat, lon, provides}`.
public struct FacilityInput: Sendable, Equatable {
    /// The kinds of site a facility may be.
    public static let kinds = ["hospital", "alternate_care_site", "nursing_home", "clinic"]

    /// Nil when the body gives none (a state token then registers in its own state).
    public var state: Jurisdiction?
    public var name: String
    public var kind: String
    public var lat: Double
    public var lon: Double
    /// Site capabilities as lower-case tokens (`icu`, `ventilators`…), matched against grant requirements.
    public var provides: [String]

    public init(state: Jurisdiction?, name: String, kind: String, lat: Double, lon: Double, provides: [String]) {
        self.state = state
        self.name = name
        self.kind = kind
        self.lat = lat
        self.lon = lon
        self.provides = provides
    }

    /// Reads the body, reporting every bad field.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> FacilityInput {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        var state: Jurisdiction?
        if let text = r.string("state", maxLength: 2) {
            state = Jurisdiction(text)
            if state == nil { r.fail("state", "unknown US state or territory \"\(text)\"") }
        }
        let name = r.string("name", required: true, maxLength: 200)
        let kind = r.string("kind", required: true, maxLength: 40)
        if let kind, !kind.isEmpty, !kinds.contains(kind) {
            r.fail("kind", "unknown value \"\(kind)\" (expected one of \(kinds.joined(separator: ", ")))")
        }
        let lat = r.number("lat", required: true, range: -90...90)
        let lon = r.number("lon", required: true, range: -180...180)
        let provides = r.array("provides", maxCount: 30, lowerCaseToken) ?? []
        errors += r.finish()
        guard errors.isEmpty, let name, let kind, let lat, let lon else { throw FieldErrors(errors) }
        return FacilityInput(state: state, name: name, kind: kind, lat: lat, lon: lon, provides: provides)
    }

    /// A non-empty token of `a-z`, `0-9` and `_`, at most 64 bytes.
    static func lowerCaseToken(_ value: JSONValue, _ path: String, _ errors: inout [FieldError]) -> String? {
        guard case .string(let token) = value, !token.isEmpty, token.utf8.count <= 64,
            token.utf8.allSatisfy({ (97...122).contains($0) || (48...57).contains($0) || $0 == 95 })
        else {
            errors.append(FieldError(path, "expected a lower-case token"))
            return nil
        }
        return token
    }
}
