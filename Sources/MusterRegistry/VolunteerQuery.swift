import Foundation
import MusterCore

/// Filters for listing volunteers. Nil means "any".
public struct VolunteerFilter: Sendable, Equatable {
    public var state: String?
    public var category: VolunteerCategory?
    public var profession: Profession?
    public var skill: Skill?
    public var status: VolunteerStatus?
    public var maxCredentialLevel: Int?
    public var availableOn: CalendarDate?
    public var near: (lat: Double, lon: Double, km: Double)?

    public init() {}

    public static func == (lhs: VolunteerFilter, rhs: VolunteerFilter) -> Bool {
        lhs.state == rhs.state && lhs.category == rhs.category && lhs.profession == rhs.profession
            && lhs.skill == rhs.skill && lhs.status == rhs.status && lhs.maxCredentialLevel == rhs.maxCredentialLevel
            && lhs.availableOn == rhs.availableOn && lhs.near?.lat == rhs.near?.lat && lhs.near?.lon == rhs.near?.lon
            && lhs.near?.km == rhs.near?.km
    }
}

/// A page of `VOLUNTEER.LIST`: the filter, where the page starts, its size, and whether whole profiles are wanted.
public struct VolunteerQuery: Sendable, Equatable {
    public static let defaultLimit = 100
    public static let maxLimit = 1000

    public var filter: VolunteerFilter
    /// Volunteers with ids above this one (0: from the start).
    public var after: Int64
    public var limit: Int
    public var full: Bool

    public init(filter: VolunteerFilter = VolunteerFilter(), after: Int64 = 0, limit: Int = defaultLimit, full: Bool = false) {
        self.filter = filter
        self.after = after
        self.limit = limit
        self.full = full
    }

    /// Reads `{state, category, profession, skill, status, maxCredentialLevel, availableOn, near: {lat, lon, km},
    /// limit, full, after}`, reporting every bad field.
    public static func parse(_ value: JSONValue) throws(FieldErrors) -> VolunteerQuery {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        var query = VolunteerQuery()
        if let state = r.string("state", maxLength: 2) {
            if let code = Jurisdiction(state) {
                query.filter.state = code.code
            } else {
                r.fail("state", "unknown US state or territory \"\(state)\"")
            }
        }
        query.filter.category = r.token("category", VolunteerCategory.self)
        query.filter.profession = r.token("profession", Profession.self)
        query.filter.skill = r.token("skill", Skill.self)
        query.filter.status = r.token("status", VolunteerStatus.self)
        query.filter.maxCredentialLevel = r.integer("maxCredentialLevel", range: 1...4)
        query.filter.availableOn = r.date("availableOn")
        query.filter.near = r.object("near") { n -> (Double, Double, Double)? in
            guard let lat = n.number("lat", required: true, range: -90...90),
                let lon = n.number("lon", required: true, range: -180...180),
                let km = n.number("km", required: true, range: 0.001...5000)
            else { return nil }
            return (lat, lon, km)
        }
        query.limit = r.integer("limit", range: 1...maxLimit) ?? defaultLimit
        query.full = r.bool("full") ?? false
        if let cursor = r.string("after", maxLength: 100) {
            if let id = decodeCursor(cursor) { query.after = id } else { r.fail("after", "not a cursor from a previous page") }
        }
        errors += r.finish()
        guard errors.isEmpty else { throw FieldErrors(errors) }
        return query
    }

    /// An opaque page cursor; clients pass it back unchanged.
    public static func cursor(after id: Int64) -> String {
        Data("v1:\(id)".utf8).base64EncodedString()
    }

    /// The id a cursor stands for; nil for anything `cursor(after:)` did not make.
    public static func decodeCursor(_ cursor: String) -> Int64? {
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1:"),
            let id = Int64(text.dropFirst(3)), id >= 0
        else { return nil }
        return id
    }
}
