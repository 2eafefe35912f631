import Foundation
import MusterCore
import MusterPQ
import MusterRegistry

/// Registration, one volunteer or a thousand, with the same rules and a fixed number of statements per batch.
extension VolunteerStore {
    /// The outcome for one registration of a batch.
    public typealias RegistrationOutcome = Result<(id: Int64, created: Bool), VolunteerStoreError>

    /// Registers many volunteers of one state in the caller's transaction; one outcome per profile, in order.
    ///
    /// For each profile: the same `ref` again returns the existing id (`created: false`) if the content is the same,
    /// else `refConflict`; the same person (NPI, licence jurisdiction and number, or name and date of birth) already
    /// registered — before, or earlier in this batch — is `duplicate`, unless the earlier record is in another state
    /// and the profile consents to sharing, which links the two. Accepted profiles are inserted with their licences
    /// and audit rows in three set-based statements.
    ///
    /// Concurrent registrations of one person are serialised by transaction-scoped advisory locks on the
    /// de-duplication keys, taken in a fixed order.
    public func registerBatch(
        _ connection: PGConnection, profiles: [VolunteerProfile], state: Jurisdiction, actor: Identity
    ) throws -> [RegistrationOutcome] {
        try registerBatch(connection, profiles: profiles, state: state, actors: Array(repeating: actor, count: profiles.count))
    }

    /// Registers many volunteers of one state, each on behalf of its own actor (`actors[i]` registers
    /// `profiles[i]`, and its audit row and `created_by` say so): how concurrent registrations from several
    /// connections share one transaction and one commit.
    public func registerBatch(
        _ connection: PGConnection, profiles: [VolunteerProfile], state: Jurisdiction, actors: [Identity]
    ) throws -> [RegistrationOutcome] {
        precondition(actors.count == profiles.count, "one actor per profile")
        guard !profiles.isEmpty else { return [] }
        let keys = profiles.map { DedupKeys($0, state: state.code) }
        let allKeys = Set(keys.flatMap(\.lockKeys)).sorted()
        // The look-ups below find stored rows through an index: by `= ANY(array)` on an indexed column, or by a
        // LATERAL look-up per key (never a join against an unnested array or JSON recordset, planned for a guessed
        // row count). They are still planned afresh for each batch: a generic plan cached while the table was
        // small (a new registry, early in a bulk import) kept scanning it whole as it grew, at 1 to 3 ms a
        // statement by 10k volunteers, against 0.05 ms. The locks and the insert, which read no table, keep their
        // cached plans (planned afresh, the locks took 0.13 ms of planning against 0.04 ms of running). The plan
        // mode is set per statement inside this round trip (`PGPlanning.localSetting`) rather than as a statement's
        // `planning`, whose session setting covers a whole pipeline and would cost a round trip of its own whenever
        // a pooled connection switches between these and other statements.
        // What is stored already: the same refs, and records of the same people.
        var firstByRef: [String: VolunteerProfile] = [:]
        for profile in profiles where firstByRef[profile.ref] == nil { firstByRef[profile.ref] = profile }
        // Each registration is encoded once, here; the statements below take the ones they need by ref.
        let textByRef = firstByRef.mapValues(\.jsonText)
        let lookups = PeopleIndex.lookups(keys: keys)
        // The locks first, then every read, in one round trip (the server still runs them in this order).
        let results = try connection.pipeline(
            [
                PGPlanning.generic.localSetting,
                """
                SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) AS locked
                FROM (SELECT k FROM unnest(\(allKeys)::text[]) AS k ORDER BY k) AS keys
                """,
                PGPlanning.custom.localSetting,
                """
                SELECT v.id, v.ref FROM volunteers v
                WHERE v.registering_state = \(state.code) AND v.ref = ANY(\(Array(firstByRef.keys))::text[])
                """,
            ] + lookups.map(\.query))
        // Refs stored already (a re-import, a retry) are compared with the new registrations in the database (jsonb
        // equality), and only differing ones are read back, for the message. Only then is any profile sent to be
        // compared: a batch of new volunteers, the usual case, costs PostgreSQL no parse of its profiles here.
        var storedByRef: [String: (id: Int64, profile: VolunteerProfile)] = [:]
        let stored: [(id: Int64, ref: String)] = try results[3].map { (try $0.decode("id"), try $0.decode("ref")) }
        if !stored.isEmpty {
            let compared = try connection.query(
                """
                SELECT v.id, v.ref,
                       CASE WHEN v.profile = (\(Self.jsonObject(textByRef, refs: stored.map(\.ref)))::jsonb -> v.ref) THEN NULL
                            ELSE v.profile::text END AS differing
                FROM volunteers v WHERE v.id = ANY(\(stored.map(\.id))::bigint[])
                """)
            for row in compared {
                let ref: String = try row.decode("ref")
                let differing: String? = try row.decode("differing")
                guard let first = firstByRef[ref] else { continue }
                storedByRef[ref] = (try row.decode("id"), try differing.map(Self.decodeProfile) ?? first)
            }
        }
        var people = PeopleIndex()
        for (lookup, rows) in zip(lookups, results.dropFirst(4)) { try people.remember(lookup.kind, rows) }

        // Decide each profile in order; profiles accepted earlier in the batch count as registered.
        enum Decision {
            case existing(Int64)
            case refConflict(Int64, [String])
            case refConflictInBatch(Int, [String])
            case duplicateOf(Int64, String, String)
            case duplicateInBatch(Int, String)
            case insert(linkTo: Int64?)
            case sameRefInBatch(Int)
        }
        var decisions: [Decision] = []
        var batchRefs: [String: Int] = [:]
        for (index, profile) in profiles.enumerated() {
            if let stored = storedByRef[profile.ref] {
                decisions.append(
                    stored.profile == profile
                        ? .existing(stored.id) : .refConflict(stored.id, Self.differingFields(stored.profile, profile)))
                continue
            }
            if let earlier = batchRefs[profile.ref] {
                if profiles[earlier] == profile {
                    decisions.append(.sameRefInBatch(earlier))
                } else {
                    decisions.append(.refConflictInBatch(earlier, Self.differingFields(profiles[earlier], profile)))
                }
                continue
            }
            switch people.match(keys[index]) {
            case .stored(let id, let recordState, let reason):
                if recordState != state.code && profile.consentToShare {
                    decisions.append(.insert(linkTo: id))
                    people.addPending(keys[index], index: index)
                    batchRefs[profile.ref] = index
                } else {
                    decisions.append(.duplicateOf(id, recordState, reason))
                }
            case .pending(let earlier, let reason):
                decisions.append(.duplicateInBatch(earlier, reason))
            case nil:
                decisions.append(.insert(linkTo: nil))
                people.addPending(keys[index], index: index)
                batchRefs[profile.ref] = index
            }
        }

        // Insert the accepted ones, their licences and their audit rows.
        let accepted = decisions.enumerated().compactMap { index, decision -> (Int, Int64?)? in
            if case .insert(let linkTo) = decision { return (index, linkTo) }
            return nil
        }
        var newIDs: [String: Int64] = [:]
        if !accepted.isEmpty {
            let profilesByRef = Self.jsonObject(textByRef, refs: accepted.map { index, _ in profiles[index].ref })
            let rows = accepted.map { index, linkTo in
                NewRow(profile: profiles[index], state: state.code, linkedTo: linkTo, createdBy: actors[index].tokenID)
            }
            let licenses = accepted.flatMap { index, _ in
                profiles[index].licenses.enumerated().map { position, license in
                    LicenseRow(ref: profiles[index].ref, position: position, license: license)
                }
            }
            let audits = accepted.map { index, linkTo in
                AuditRow(
                    ref: profiles[index].ref, action: linkTo == nil ? "volunteer.register" : "volunteer.register-linked",
                    actor_token_id: actors[index].tokenID, actor_name: actors[index].name)
            }
            // The volunteers, their licences and their audit rows in one statement (one round trip): the licence and
            // audit rows find their volunteer's new id by ref among the rows just inserted.
            let inserted = try connection.pipeline([
                PGPlanning.automatic.localSetting,
                """
                WITH new AS (
                    INSERT INTO volunteers (
                        registering_state, ref, category, profession, first_name, last_name, date_of_birth, email, phone,
                        home_state, lat, lon, npi, skills, available_from, available_to, max_travel_km, telehealth_only,
                        profile, linked_to, created_by)
                    SELECT r.registering_state, r.ref, r.category, r.profession, r.first_name, r.last_name,
                           r.date_of_birth, r.email, r.phone, r.home_state, r.lat, r.lon, r.npi, r.skills,
                           r.available_from, r.available_to, r.max_travel_km, r.telehealth_only,
                           \(profilesByRef)::jsonb -> r.ref, r.linked_to, r.created_by
                    FROM jsonb_to_recordset(\(PGJSON(rows: rows, capacity: 400) { $0.write(to: &$1) })::jsonb) AS r(
                        registering_state char(2), ref text, category text, profession text, first_name text,
                        last_name text, date_of_birth date, email text, phone text, home_state char(2), lat float8,
                        lon float8, npi char(10), skills text[], available_from date, available_to date,
                        max_travel_km int, telehealth_only boolean, linked_to bigint, created_by bigint)
                    RETURNING id, ref, profile
                ),
                licenses AS (
                    INSERT INTO volunteer_licenses (volunteer_id, position, jurisdiction, license_type, number, status, expires)
                    SELECT new.id, l.position, l.jurisdiction, l.license_type, l.number, l.status, l.expires
                    FROM jsonb_to_recordset(\(PGJSON(rows: licenses, capacity: 160) { $0.write(to: &$1) })::jsonb) AS l(
                        ref text, position int, jurisdiction char(2), license_type text, number text, status text,
                        expires date)
                    JOIN new ON new.ref = l.ref
                ),
                audits AS (
                    INSERT INTO audit_log (actor_token_id, actor_name, action, entity, entity_id, state, after)
                    SELECT a.actor_token_id, a.actor_name, a.action, 'volunteer', new.id, \(state.code), new.profile
                    FROM jsonb_to_recordset(\(PGJSON(rows: audits, capacity: 120) { $0.write(to: &$1) })::jsonb) AS a(
                        ref text, action text, actor_token_id bigint, actor_name text)
                    JOIN new ON new.ref = a.ref
                )
                SELECT id, ref FROM new
                """,
            ])[1]
            for row in inserted { newIDs[try row.decode("ref")] = try row.decode("id") }
        }

        func newID(_ index: Int) throws -> Int64 {
            guard let id = newIDs[profiles[index].ref] else {
                throw PGError(.client, message: "the insert returned no id for a registration of this batch")
            }
            return id
        }
        return try decisions.enumerated().map { index, decision -> RegistrationOutcome in
            switch decision {
            case .insert: return .success((try newID(index), true))
            case .existing(let id): return .success((id, false))
            case .sameRefInBatch(let earlier): return .success((try newID(earlier), false))
            case .refConflict(let id, let fields): return .failure(.refConflict(existingID: id, fields: fields))
            case .refConflictInBatch(let earlier, let fields):
                return .failure(.refConflict(existingID: try newID(earlier), fields: fields))
            case .duplicateOf(let id, let recordState, let reason):
                return .failure(.duplicate(existingID: id, state: recordState, reason: reason))
            case .duplicateInBatch(let earlier, let reason):
                return .failure(.duplicate(existingID: try newID(earlier), state: state.code, reason: reason))
            }
        }
    }
}

/// A volunteer just registered, as its registration event names it.
public struct RegisteredVolunteer: Sendable, Equatable {
    public let id: Int64
    /// The registering state.
    public let state: String

    public init(id: Int64, state: String) {
        self.id = id
        self.state = state
    }
}

extension VolunteerStore {
    /// Announces newly registered volunteers to every daemon's event subscribers (`pg_notify` on `muster_events`),
    /// in a transaction of its own: call it after the registrations have committed. The transaction writes nothing,
    /// so it commits without waiting for a WAL flush, and holds PostgreSQL's notify lock only briefly.
    ///
    /// Up to 100 volunteers get an event each, in id order; more get one count per state. An event carries what a
    /// registration stores: status `registered`, no credential level yet. Nothing is read back from the table.
    public func announceRegistrations(_ connection: PGConnection, _ registered: [RegisteredVolunteer]) throws {
        guard !registered.isEmpty else { return }
        let ordered = registered.sorted { $0.id < $1.id }
        let notify: PGQuery
        if ordered.count <= 100 {
            notify = """
                SELECT count(pg_notify('muster_events', json_build_object(
                    'type', 'volunteer', 'change', 'registered', 'id', u.id, 'state', u.state,
                    'status', 'registered', 'credentialLevel', NULL)::text)) AS announced
                FROM unnest(\(ordered.map(\.id))::bigint[], \(ordered.map(\.state))::text[]) AS u(id, state)
                """
        } else {
            var counts: [String: Int] = [:]
            for volunteer in ordered { counts[volunteer.state, default: 0] += 1 }
            let states = counts.keys.sorted()
            notify = """
                SELECT count(pg_notify('muster_events', json_build_object(
                    'type', 'volunteers', 'change', 'registered', 'state', u.state, 'count', u.total)::text)) AS announced
                FROM unnest(\(states)::text[], \(states.map { counts[$0]! })::bigint[]) AS u(state, total)
                """
        }
        // One round trip: outside a transaction the pipeline is a transaction of its own, which the settings last.
        // The statement reads no table, so its plan is made once per connection and reused: planned afresh for each
        // call (for the arrays at hand), it took 0.45 ms of planning against 0.04 ms of running.
        _ = try connection.pipeline([
            "SET LOCAL synchronous_commit = off", PGPlanning.generic.localSetting, notify,
        ])
    }
}

/// The keys by which one profile is the same person as another. Each key keeps its parts apart (a name may hold any
/// character), and is compared as a list of strings.
struct DedupKeys {
    typealias Key = [String]

    let ref: String
    let state: String
    let npi: String?
    let licenses: [(jurisdiction: String, number: String)]
    let person: (last: String, first: String, dateOfBirth: CalendarDate)?

    init(_ profile: VolunteerProfile, state: String) {
        self.state = state
        ref = profile.ref
        npi = profile.npi
        licenses = profile.licenses.map { ($0.jurisdiction, $0.number.uppercased()) }
        person = profile.dateOfBirth.map { (profile.lastName.lowercased(), profile.firstName.lowercased(), $0) }
    }

    /// The identity keys, strongest first, each with the reason a match on it gives.
    var identityKeys: [(key: Key, reason: String)] {
        var keys: [(Key, String)] = []
        if let npi { keys.append((["npi", npi], "same NPI")) }
        for license in licenses {
            keys.append((["license", license.jurisdiction, license.number], "same licence \(license.jurisdiction) \(license.number)"))
        }
        if let person {
            keys.append((["person", person.last, person.first, person.dateOfBirth.description], "same name and date of birth"))
        }
        return keys
    }

    /// Advisory-lock names: the ref and every identity key. (A hash collision only serialises two registrations.)
    var lockKeys: [String] {
        ([["ref", state, ref]] + identityKeys.map(\.key)).map { $0.joined(separator: "\u{1F}") }
    }
}

/// Who is registered already, by each de-duplication key: in the database (first registered wins) and earlier in
/// the batch.
struct PeopleIndex {
    enum Match {
        case stored(Int64, String, String)
        case pending(Int, String)
    }

    private var stored: [DedupKeys.Key: (Int64, String)] = [:]
    private var pending: [DedupKeys.Key: Int] = [:]

    /// One look-up of stored records by a kind of key.
    struct Lookup {
        enum Kind { case npi, license, person }
        let kind: Kind
        let query: PGQuery
    }

    /// Reads the records that share a key with any of `keys`, leaving out `excluding` (a record being updated) and
    /// records linked to another (the first record of a person stands for all).
    mutating func load(_ connection: PGConnection, keys: [DedupKeys], excluding: Int64 = 0) throws {
        for lookup in Self.lookups(keys: keys, excluding: excluding) {
            try remember(lookup.kind, try connection.query(lookup.query))
        }
    }

    /// The statements that read the records sharing a key with any of `keys` (at most one per kind of key), for
    /// `remember` to take in; `load` runs them one by one, a batch sends them in one round trip.
    static func lookups(keys: [DedupKeys], excluding: Int64 = 0) -> [Lookup] {
        var lookups: [Lookup] = []
        let npis = keys.compactMap(\.npi)
        if !npis.isEmpty {
            // `npi` is char(10): compared as bpchar, the index is used (as text[] every lookup scanned it whole).
            lookups.append(
                Lookup(
                    kind: .npi,
                    query: """
                        SELECT id, registering_state, npi FROM volunteers
                        WHERE npi = ANY(\(npis)::bpchar[]) AND id <> \(excluding) AND linked_to IS NULL ORDER BY id
                        """))
        }
        let licenses = keys.flatMap(\.licenses)
        if !licenses.isEmpty {
            lookups.append(
                Lookup(
                    kind: .license,
                    query: """
                        SELECT DISTINCT found.id, found.registering_state, u.j AS jurisdiction, u.n AS number
                        FROM unnest(\(licenses.map(\.jurisdiction))::text[], \(licenses.map(\.number))::text[]) AS u(j, n)
                        CROSS JOIN LATERAL (
                            SELECT v.id, v.registering_state
                            FROM volunteer_licenses l JOIN volunteers v ON v.id = l.volunteer_id
                            WHERE l.jurisdiction = u.j::char(2) AND upper(l.number) = u.n
                              AND v.id <> \(excluding) AND v.linked_to IS NULL
                        ) AS found
                        ORDER BY found.id
                        """))
        }
        let people = keys.compactMap(\.person)
        if !people.isEmpty {
            lookups.append(
                Lookup(
                    kind: .person,
                    query: """
                        SELECT DISTINCT found.id, found.registering_state, u.l AS last, u.f AS first, u.d AS date_of_birth
                        FROM unnest(\(people.map(\.last))::text[], \(people.map(\.first))::text[], \(people.map(\.dateOfBirth))::date[])
                             AS u(l, f, d)
                        CROSS JOIN LATERAL (
                            SELECT v.id, v.registering_state FROM volunteers v
                            WHERE lower(v.last_name) = u.l AND lower(v.first_name) = u.f AND v.date_of_birth = u.d
                              AND v.id <> \(excluding) AND v.linked_to IS NULL
                        ) AS found
                        ORDER BY found.id
                        """))
        }
        return lookups
    }

    /// Takes in the rows of one look-up: the first record found for each key (rows come in id order).
    mutating func remember(_ kind: Lookup.Kind, _ rows: PGRows) throws {
        for row in rows {
            let key: DedupKeys.Key
            switch kind {
            case .npi: key = ["npi", try row.decode("npi", as: String.self)]
            case .license: key = ["license", try row.decode("jurisdiction", as: String.self), try row.decode("number", as: String.self)]
            case .person:
                let dateOfBirth: CalendarDate = try row.decode("date_of_birth")
                key = ["person", try row.decode("last", as: String.self), try row.decode("first", as: String.self), dateOfBirth.description]
            }
            if stored[key] == nil { stored[key] = (try row.decode("id"), try row.decode("registering_state")) }
        }
    }

    /// The first registered record sharing a key with `keys`, by NPI, then licence, then name and date of birth.
    func match(_ keys: DedupKeys) -> Match? {
        for (key, reason) in keys.identityKeys {
            if let (id, state) = stored[key] { return .stored(id, state, reason) }
            if let index = pending[key] { return .pending(index, reason) }
        }
        return nil
    }

    mutating func addPending(_ keys: DedupKeys, index: Int) {
        for (key, _) in keys.identityKeys where pending[key] == nil { pending[key] = index }
    }
}

/// A new volunteers row, as `jsonb_to_recordset` reads it.
struct NewRow {
    let registering_state: String
    let ref: String
    let category: String
    let profession: String
    let first_name: String
    let last_name: String
    let date_of_birth: CalendarDate?
    let email: String?
    let phone: String?
    let home_state: String
    let lat: Double?
    let lon: Double?
    let npi: String?
    let skills: [String]
    let available_from: CalendarDate?
    let available_to: CalendarDate?
    let max_travel_km: Int?
    let telehealth_only: Bool
    let linked_to: Int64?
    let created_by: Int64

    init(profile: VolunteerProfile, state: String, linkedTo: Int64?, createdBy: Int64) {
        registering_state = state
        ref = profile.ref
        category = profile.category.rawValue
        profession = profile.profession.rawValue
        first_name = profile.firstName
        last_name = profile.lastName
        date_of_birth = profile.dateOfBirth
        email = profile.email
        phone = profile.phone
        home_state = profile.homeState
        lat = profile.location?.lat
        lon = profile.location?.lon
        npi = profile.npi
        skills = profile.skills.map(\.rawValue)
        available_from = profile.availability?.from
        available_to = profile.availability?.to
        max_travel_km = profile.maxTravelKm
        telehealth_only = profile.telehealthOnly
        linked_to = linkedTo
        created_by = createdBy
    }

    /// The row as a JSON object; a nil column is left out, which `jsonb_to_recordset` reads as NULL.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("registering_state", registering_state)
        json.member("ref", ref)
        json.member("category", category)
        json.member("profession", profession)
        json.member("first_name", first_name)
        json.member("last_name", last_name)
        json.optional("date_of_birth", date_of_birth)
        json.optional("email", email)
        json.optional("phone", phone)
        json.member("home_state", home_state)
        json.optional("lat", lat)
        json.optional("lon", lon)
        json.optional("npi", npi)
        json.member("skills", skills)
        json.optional("available_from", available_from)
        json.optional("available_to", available_to)
        json.optional("max_travel_km", max_travel_km)
        json.member("telehealth_only", telehealth_only)
        json.optional("linked_to", linked_to)
        json.member("created_by", created_by)
        json.endObject()
    }
}

struct LicenseRow {
    let ref: String
    let position: Int
    let jurisdiction: String
    let license_type: String
    let number: String
    let status: String
    let expires: CalendarDate?

    init(ref: String, position: Int, license: VolunteerProfile.License) {
        self.ref = ref
        self.position = position
        jurisdiction = license.jurisdiction
        license_type = license.type
        number = license.number
        status = license.status.rawValue
        expires = license.expires
    }

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("ref", ref)
        json.member("position", position)
        json.member("jurisdiction", jurisdiction)
        json.member("license_type", license_type)
        json.member("number", number)
        json.member("status", status)
        json.optional("expires", expires)
        json.endObject()
    }
}

struct AuditRow {
    let ref: String
    let action: String
    let actor_token_id: Int64
    let actor_name: String

    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("ref", ref)
        json.member("action", action)
        json.member("actor_token_id", actor_token_id)
        json.member("actor_name", actor_name)
        json.endObject()
    }
}

extension VolunteerStore {
    /// A JSON object of the given refs' registrations (as `jsonText`), each under its ref, for a statement to take
    /// them from by ref.
    fileprivate static func jsonObject(_ textByRef: [String: String], refs: [String]) -> PGJSON {
        var json = JSONWriter(capacity: refs.count * 1024)
        json.beginObject()
        for ref in refs {
            guard let text = textByRef[ref] else { continue }
            json.key(ref)
            json.raw(text)
        }
        json.endObject()
        return PGJSON(text: json.output)
    }
}

extension PGJSON {
    /// A JSON array of rows for `jsonb_to_recordset`, each written by its `write`.
    fileprivate init<Row>(rows: [Row], capacity: Int, _ write: (Row, inout JSONWriter) -> Void) {
        var json = JSONWriter(capacity: rows.count * capacity)
        json.array(rows) { json, row in write(row, &json) }
        self.init(text: json.output)
    }
}
