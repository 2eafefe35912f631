import Foundation
import MusterCore
import MusterPQ
import MusterRegistry

/// A stored volunteer: the registration plus what Muster derived and tracks.
public struct VolunteerRecord: Sendable, Equatable {
    public let id: Int64
    public let registeringState: String
    public let status: VolunteerStatus
    public let credentialLevel: Int?
    public let credentialValidUntil: CalendarDate?
    public let linkedTo: Int64?
    public let createdAt: Date
    public let updatedAt: Date
    public let profile: VolunteerProfile
}

/// Why a store operation was refused. The server maps each case to a protocol error.
public enum VolunteerStoreError: Error, Sendable, Equatable {
    /// The same `ref` was registered before with different content; the differing top-level fields.
    case refConflict(existingID: Int64, fields: [String])
    /// The same person is registered already (by NPI, licence, or name and date of birth).
    case duplicate(existingID: Int64, state: String, reason: String)
    /// No such volunteer within the caller's scope.
    case notFound(Int64)
    /// The status change is not allowed.
    case invalidTransition(from: VolunteerStatus, to: VolunteerStatus)
    /// The record is withdrawn and cannot change.
    case withdrawn(Int64)
    /// The update tried to change a field that cannot change.
    case immutableField(String)
}

/// Reads and writes volunteer records. Every method runs on the caller's connection; callers wrap changes in a
/// transaction so the audit row commits with the change.
public struct VolunteerStore: Sendable {
    let audit = AuditLog()

    public init() {}

    static func encode(_ profile: VolunteerProfile) -> PGJSON {
        PGJSON(text: profile.jsonText)
    }

    // MARK: - Register (see VolunteerStore+Register.swift)

    private func writeLicenses(_ connection: PGConnection, id: Int64, profile: VolunteerProfile) throws {
        try connection.query("DELETE FROM volunteer_licenses WHERE volunteer_id = \(id)")
        for (position, license) in profile.licenses.enumerated() {
            try connection.query(
                """
                INSERT INTO volunteer_licenses (volunteer_id, position, jurisdiction, license_type, number, status, expires)
                VALUES (\(id), \(position), \(license.jurisdiction), \(license.type), \(license.number),
                        \(license.status.rawValue), \(license.expires))
                """)
        }
    }

    // MARK: - Read

    static let columns = """
        id, registering_state, status, credential_level, credential_valid_until, linked_to, created_at, updated_at,
        profile::text AS profile
        """

    /// A volunteer within `scope` (a state code, or nil for every state).
    public func get(_ connection: PGConnection, id: Int64, scope: String?, forUpdate: Bool = false) throws -> VolunteerRecord? {
        let rows = try connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM volunteers
            WHERE id = \(id) AND (\(scope)::text IS NULL OR registering_state = \(scope))
            \(unescaped: forUpdate ? "FOR UPDATE" : "")
            """)
        return try rows.first.map(Self.record)
    }

    /// The volunteers with these ids, in every state, by id (ids that do not exist are absent): one statement for
    /// many readers at once. Profiles unchanged since `profiles` decoded them are taken from it.
    public func get(_ connection: PGConnection, ids: [Int64], profiles: ProfileCache? = nil) throws -> [Int64: VolunteerRecord] {
        // A look-up by primary key, whose plan is right whatever the ids and the table's size: planned once per
        // connection (`.generic`). Planned for each batch's ids, it took as long to plan as to run (0.05 ms each).
        let read: PGQuery = "SELECT \(unescaped: Self.columns) FROM volunteers WHERE id = ANY(\(ids)::bigint[])"
        let rows = try connection.query(read.planned(.generic))
        var records: [Int64: VolunteerRecord] = [:]
        for row in rows {
            let record = try Self.record(row, cachedIn: profiles)
            records[record.id] = record
        }
        return records
    }

    static func record(_ row: PGRow) throws -> VolunteerRecord {
        try record(row, cachedIn: nil)
    }

    static func record(_ row: PGRow, cachedIn profiles: ProfileCache?) throws -> VolunteerRecord {
        let statusText: String = try row.decode("status")
        guard let status = VolunteerStatus(rawValue: statusText) else {
            throw PGError(.decoding, message: "unknown status \(statusText)")
        }
        return VolunteerRecord(
            id: try row.decode("id"), registeringState: try row.decode("registering_state"), status: status,
            credentialLevel: try row.decode("credential_level", as: Int?.self),
            credentialValidUntil: try row.decode("credential_valid_until"), linkedTo: try row.decode("linked_to"),
            createdAt: try row.decode("created_at"), updatedAt: try row.decode("updated_at"),
            profile: try profile(row, cache: profiles))
    }

    private static func profile(_ row: PGRow, cache: ProfileCache?) throws -> VolunteerProfile {
        let text: String = try row.decode("profile")
        guard let cache else { return try decodeProfile(text) }
        return try cache.profile(id: try row.decode("id"), text: text, decode: decodeProfile)
    }

    static func decodeProfile(_ text: String) throws -> VolunteerProfile {
        try PGJSON(text: text).decode(VolunteerProfile.self)
    }

    /// All verifications of a volunteer, oldest first.
    public func verifications(_ connection: PGConnection, id: Int64) throws -> [Verification] {
        try connection.query(
            """
            SELECT id, item, subject, outcome, source, reference, verified_by_name, verified_at, expires
            FROM verifications WHERE volunteer_id = \(id) ORDER BY verified_at, id
            """
        ).map { row in
            Verification(
                id: try row.decode("id"), item: VerificationItem(rawValue: try row.decode("item"))!,
                subject: try row.decode("subject"), outcome: VerificationOutcome(rawValue: try row.decode("outcome"))!,
                source: try row.decode("source"), reference: try row.decode("reference"),
                verifiedBy: try row.decode("verified_by_name"), verifiedAt: try row.decode("verified_at"),
                expires: try row.decode("expires"))
        }
    }

    // MARK: - Change

    /// Replaces a volunteer's registration (the caller has applied the partial update and validated the result) and
    /// optionally moves its status; recomputes the credential level (licences may have changed).
    public func update(
        _ connection: PGConnection, id: Int64, scope: String?, change: (VolunteerProfile) throws -> VolunteerProfile,
        status newStatus: VolunteerStatus?, actor: Identity, today: CalendarDate
    ) throws -> VolunteerRecord {
        guard let current = try get(connection, id: id, scope: scope, forUpdate: true) else {
            throw VolunteerStoreError.notFound(id)
        }
        if current.status == .withdrawn { throw VolunteerStoreError.withdrawn(id) }
        let profile = try change(current.profile)
        if profile.ref != current.profile.ref { throw VolunteerStoreError.immutableField("ref") }
        // The same de-duplication rules as registration, against every other record.
        let keys = DedupKeys(profile, state: current.registeringState)
        var people = PeopleIndex()
        try people.load(connection, keys: [keys], excluding: id)
        if case .stored(let other, let otherState, let reason) = people.match(keys), current.linkedTo != other {
            throw VolunteerStoreError.duplicate(existingID: other, state: otherState, reason: reason)
        }
        var status = current.status
        if let newStatus, newStatus != current.status {
            guard current.status.allowsManualTransition(to: newStatus), newStatus != .withdrawn else {
                throw VolunteerStoreError.invalidTransition(from: current.status, to: newStatus)
            }
            status = newStatus
        }
        let json = Self.encode(profile)
        let changed = try connection.query(
            """
            UPDATE volunteers SET
                category = \(profile.category.rawValue), profession = \(profile.profession.rawValue),
                first_name = \(profile.firstName), last_name = \(profile.lastName), date_of_birth = \(profile.dateOfBirth),
                email = \(profile.email), phone = \(profile.phone), home_state = \(profile.homeState),
                lat = \(profile.location?.lat), lon = \(profile.location?.lon), npi = \(profile.npi),
                skills = \(profile.skills.map(\.rawValue)), available_from = \(profile.availability?.from),
                available_to = \(profile.availability?.to), max_travel_km = \(profile.maxTravelKm),
                telehealth_only = \(profile.telehealthOnly), profile = \(json)::jsonb, status = \(status.rawValue),
                updated_at = now()
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """)
        try writeLicenses(connection, id: id, profile: profile)
        // Licences may have changed, and with them the level.
        let updated = try reassess(connection, record: try Self.record(changed[0]), today: today)
        try audit.record(
            connection, actor: actor, action: "volunteer.update", entity: "volunteer", entityID: id,
            state: current.registeringState, before: Self.auditJSON(current), after: Self.auditJSON(updated))
        return updated
    }

    /// Withdraws a volunteer (final).
    public func withdraw(_ connection: PGConnection, id: Int64, scope: String?, reason: String?, actor: Identity) throws -> VolunteerRecord {
        guard let current = try get(connection, id: id, scope: scope, forUpdate: true) else {
            throw VolunteerStoreError.notFound(id)
        }
        if current.status == .withdrawn { return current }
        let updated = try Self.record(
            try connection.query(
                """
                UPDATE volunteers SET status = 'withdrawn', withdrawn_at = now(), updated_at = now() WHERE id = \(id)
                RETURNING \(unescaped: Self.columns)
                """)[0])
        struct Reason: Encodable { let status: String; let reason: String? }
        try audit.record(
            connection, actor: actor, action: "volunteer.withdraw", entity: "volunteer", entityID: id,
            state: current.registeringState, before: try PGJSON(encoding: Reason(status: current.status.rawValue, reason: nil)),
            after: try PGJSON(encoding: Reason(status: "withdrawn", reason: reason)))
        return updated
    }

    /// Appends a verification and recomputes the credential level and status.
    public func verify(
        _ connection: PGConnection, id: Int64, scope: String?, input: VerificationInput, actor: Identity, today: CalendarDate
    ) throws -> (verificationID: Int64, record: VolunteerRecord) {
        guard let current = try get(connection, id: id, scope: scope, forUpdate: true) else {
            throw VolunteerStoreError.notFound(id)
        }
        if current.status == .withdrawn { throw VolunteerStoreError.withdrawn(id) }
        let inserted = try connection.query(
            """
            INSERT INTO verifications (volunteer_id, item, subject, outcome, source, reference, verified_by, verified_by_name, expires)
            VALUES (\(id), \(input.item.rawValue), \(input.subject), \(input.outcome.rawValue), \(input.source),
                    \(input.reference), \(actor.tokenID), \(actor.name), \(input.expires))
            RETURNING id
            """)
        let verificationID: Int64 = try inserted[0].decode("id")
        let updated = try reassess(connection, record: current, today: today)
        struct Entry: Encodable {
            let item: String, subject: String, outcome: String, source: String, reference: String
            let expires: CalendarDate?, credentialLevel: Int?, status: String
        }
        try audit.record(
            connection, actor: actor, action: "volunteer.verify", entity: "volunteer", entityID: id,
            state: current.registeringState,
            before: try PGJSON(encoding: ["credentialLevel": current.credentialLevel.map(String.init) ?? "none", "status": current.status.rawValue]),
            after: try PGJSON(
                encoding: Entry(
                    item: input.item.rawValue, subject: input.subject, outcome: input.outcome.rawValue, source: input.source,
                    reference: input.reference, expires: input.expires, credentialLevel: updated.credentialLevel,
                    status: updated.status.rawValue)))
        return (verificationID, updated)
    }

    /// Recomputes a volunteer's credential level from its verifications on `today`; moves `registered` to `verified`
    /// when a level appears, and `verified`/`available` back to `registered` when it is lost. Returns the record as
    /// it is now.
    public func reassess(_ connection: PGConnection, record: VolunteerRecord, today: CalendarDate) throws -> VolunteerRecord {
        let assessment = CredentialAssessment.assess(
            profile: record.profile, verifications: try verifications(connection, id: record.id), on: today)
        var status = record.status
        if assessment.level != nil, status == .registered { status = .verified }
        if assessment.level == nil, status == .verified || status == .available { status = .registered }
        guard assessment.level != record.credentialLevel || status != record.status
            || assessment.validUntil != record.credentialValidUntil
        else { return record }
        return try Self.record(
            try connection.query(
                """
                UPDATE volunteers SET credential_level = \(assessment.level), credential_valid_until = \(assessment.validUntil),
                    status = \(status.rawValue), updated_at = now()
                WHERE id = \(record.id)
                RETURNING \(unescaped: Self.columns)
                """)[0])
    }

    /// Reassesses every volunteer whose credential level lapses on or before `today` (the expiry watch).
    /// Returns how many were reassessed.
    public func reassessExpired(_ connection: PGConnection, today: CalendarDate) throws -> Int {
        let lapsed = try connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM volunteers
            WHERE credential_valid_until < \(today) AND status <> 'withdrawn'
            ORDER BY id FOR UPDATE
            """
        ).map(Self.record)
        for before in lapsed {
            let after = try reassess(connection, record: before, today: today)
            try audit.record(
                connection, actor: nil, action: "volunteer.credential-expired", entity: "volunteer", entityID: before.id,
                state: before.registeringState,
                before: try PGJSON(encoding: ["credentialLevel": before.credentialLevel.map(String.init) ?? "none"]),
                after: try PGJSON(encoding: ["credentialLevel": after.credentialLevel.map(String.init) ?? "none"]))
        }
        return lapsed.count
    }

    // MARK: - List

    /// Volunteers matching `filter` with ids above `after`, in id order; at most `limit`.
    ///
    /// Keyset pagination on the primary key: rows added while a client pages through appear once (at the end if
    /// their id is higher), and no row is skipped or repeated.
    public func list(_ connection: PGConnection, filter: VolunteerFilter, after: Int64, limit: Int) throws -> [VolunteerRecord] {
        let near = filter.near
        // A bounding box first (index-friendly), then the exact great-circle distance.
        let latDelta = near.map { $0.km / 111.0 }
        let lonDelta = near.map { $0.km / max(1, 111.0 * cos($0.lat * .pi / 180)) }
        return try connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM volunteers
            WHERE id > \(after)
              AND (\(filter.state)::text IS NULL OR registering_state = \(filter.state))
              AND (\(filter.category?.rawValue)::text IS NULL OR category = \(filter.category?.rawValue))
              AND (\(filter.profession?.rawValue)::text IS NULL OR profession = \(filter.profession?.rawValue))
              AND (\(filter.skill?.rawValue)::text IS NULL OR skills @> ARRAY[\(filter.skill?.rawValue)::text])
              AND (\(filter.status?.rawValue)::text IS NULL OR status = \(filter.status?.rawValue))
              AND (\(filter.maxCredentialLevel)::int IS NULL OR credential_level <= \(filter.maxCredentialLevel))
              AND (\(filter.availableOn)::date IS NULL
                   OR (available_from <= \(filter.availableOn) AND available_to >= \(filter.availableOn)))
              AND (\(near?.lat)::float8 IS NULL OR (
                   lat BETWEEN \(near?.lat)::float8 - \(latDelta)::float8 AND \(near?.lat)::float8 + \(latDelta)::float8
                   AND lon BETWEEN \(near?.lon)::float8 - \(lonDelta)::float8 AND \(near?.lon)::float8 + \(lonDelta)::float8
                   AND 2 * 6371.0 * asin(least(1, sqrt(
                       sin(radians(lat - \(near?.lat)::float8) / 2) ^ 2
                       + cos(radians(\(near?.lat)::float8)) * cos(radians(lat)) * sin(radians(lon - \(near?.lon)::float8) / 2) ^ 2
                   ))) <= \(near?.km)::float8))
            ORDER BY id
            LIMIT \(limit)
            """
        ).map(Self.record)
    }

    /// A small JSON view of a record for the audit log.
    static func auditJSON(_ record: VolunteerRecord) -> PGJSON {
        struct View: Encodable {
            let status: String
            let credentialLevel: Int?
            let profile: VolunteerProfile
        }
        return try! PGJSON(encoding: View(status: record.status.rawValue, credentialLevel: record.credentialLevel, profile: record.profile))
    }

    /// Top-level fields whose values differ between two registrations.
    static func differingFields(_ a: VolunteerProfile, _ b: VolunteerProfile) -> [String] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let left = try? JSONSerialization.jsonObject(with: encoder.encode(a)) as? [String: Any],
            let right = try? JSONSerialization.jsonObject(with: encoder.encode(b)) as? [String: Any]
        else { return [] }
        return Set(left.keys).union(right.keys).sorted().filter { key in
            let l = left[key].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
            let r = right[key].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys, .fragmentsAllowed]) }
            return l != r
        }
    }
}

// MARK: - Reports

/// One row of the funnel: counts at each stage for one category and profession.
public struct FunnelRow: Sendable, Equatable, Codable {
    public let category: String
    public let profession: String
    /// Every record not withdrawn.
    public let registered: Int
    /// With a credential level (verified, available or deployed).
    public let verified: Int
    /// Of those verified: eligible today in their registering state under the orders in force, or deployed
    /// (filled in by the server, which holds the rules; each stage is a subset of the one before).
    public var eligible: Int = 0
    public let available: Int
    /// With an active offer or booking (offered, accepted or confirmed), or deployed.
    public let offered: Int
    public let deployed: Int
    public let withdrawn: Int
}

/// A volunteer whose credential level lapses soon.
public struct ExpiringVolunteer: Sendable, Equatable, Codable {
    public let id: Int64
    public let registeringState: String
    public let firstName: String
    public let lastName: String
    public let credentialLevel: Int?
    public let credentialValidUntil: CalendarDate
}

extension VolunteerStore {
    /// Funnel counts per category and profession, for one state or all.
    public func funnel(_ connection: PGConnection, state: String?) throws -> [FunnelRow] {
        try connection.query(
            """
            SELECT category, profession,
                   count(*) FILTER (WHERE status <> 'withdrawn') AS registered,
                   count(*) FILTER (WHERE status IN ('verified', 'available', 'deployed') AND credential_level IS NOT NULL) AS verified,
                   count(*) FILTER (WHERE status = 'available') AS available,
                   count(*) FILTER (WHERE status = 'deployed' OR (status <> 'withdrawn' AND EXISTS (
                       SELECT 1 FROM assignments a WHERE a.volunteer_id = volunteers.id
                                                     AND a.status IN ('offered', 'accepted', 'confirmed')))) AS offered,
                   count(*) FILTER (WHERE status = 'deployed') AS deployed,
                   count(*) FILTER (WHERE status = 'withdrawn') AS withdrawn
            FROM volunteers
            WHERE \(state)::text IS NULL OR registering_state = \(state)
            GROUP BY category, profession
            ORDER BY category, profession
            """
        ).map { row in
            FunnelRow(
                category: try row.decode("category"), profession: try row.decode("profession"),
                registered: try row.decode("registered"), verified: try row.decode("verified"),
                available: try row.decode("available"), offered: try row.decode("offered"), deployed: try row.decode("deployed"),
                withdrawn: try row.decode("withdrawn"))
        }
    }

    /// Volunteers whose credential level lapses on or before `until`, soonest first.
    public func expiring(_ connection: PGConnection, state: String?, until: CalendarDate, limit: Int) throws -> [ExpiringVolunteer] {
        try connection.query(
            """
            SELECT id, registering_state, first_name, last_name, credential_level, credential_valid_until
            FROM volunteers
            WHERE credential_valid_until <= \(until) AND status <> 'withdrawn'
              AND (\(state)::text IS NULL OR registering_state = \(state))
            ORDER BY credential_valid_until, id
            LIMIT \(limit)
            """
        ).map { row in
            ExpiringVolunteer(
                id: try row.decode("id"), registeringState: try row.decode("registering_state"),
                firstName: try row.decode("first_name"), lastName: try row.decode("last_name"),
                credentialLevel: try row.decode("credential_level", as: Int?.self),
                credentialValidUntil: try row.decode("credential_valid_until"))
        }
    }
}
