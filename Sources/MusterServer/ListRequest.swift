import Foundation
import MusterCore
import MusterRegistry
import MusterStore

/// Reads `VOLUNTEER.LIST` filters and the page cursor.
enum ListRequest {
    static let defaultLimit = 100
    static let maxLimit = 1000

    static func parse(_ value: JSONValue) throws -> (VolunteerFilter, after: Int64, limit: Int, full: Bool) {
        var errors: [FieldError] = []
        var r = ObjectReader(value, path: "", errors: &errors)
        var filter = VolunteerFilter()
        if let state = r.string("state", maxLength: 2) {
            if let code = Jurisdiction(state) { filter.state = code.code } else { r.fail("state", "unknown US state or territory \"\(state)\"") }
        }
        filter.category = r.token("category", VolunteerCategory.self)
        filter.profession = r.token("profession", Profession.self)
        filter.skill = r.token("skill", Skill.self)
        filter.status = r.token("status", VolunteerStatus.self)
        filter.maxCredentialLevel = r.integer("maxCredentialLevel", range: 1...4)
        filter.availableOn = r.date("availableOn")
        filter.near = r.object("near") { n -> (Double, Double, Double)? in
            guard let lat = n.number("lat", required: true, range: -90...90),
                let lon = n.number("lon", required: true, range: -180...180),
                let km = n.number("km", required: true, range: 0.001...5000)
            else { return nil }
            return (lat, lon, km)
        }
        let limit = r.integer("limit", range: 1...maxLimit) ?? defaultLimit
        let full = r.bool("full") ?? false
        var after: Int64 = 0
        if let cursor = r.string("after", maxLength: 100) {
            if let id = decodeCursor(cursor) { after = id } else { r.fail("after", "not a cursor from a previous page") }
        }
        errors += r.finish()
        if !errors.isEmpty { throw CommandError.badRequest(FieldErrors(errors).description) }
        return (filter, after, limit, full)
    }

    /// An opaque page cursor; clients pass it back unchanged.
    static func cursor(after id: Int64) -> String {
        Data("v1:\(id)".utf8).base64EncodedString()
    }

    static func decodeCursor(_ cursor: String) -> Int64? {
        guard let data = Data(base64Encoded: cursor), let text = String(data: data, encoding: .utf8), text.hasPrefix("v1:"),
            let id = Int64(text.dropFirst(3)), id >= 0
        else { return nil }
        return id
    }
}
