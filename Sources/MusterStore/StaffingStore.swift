import Foundation
import MusterCore
import MusterPQ
import MusterRegistry

/// A site that takes volunteers.
public struct Facility: Sendable, Equatable, Codable {
    public let id: Int64
    public let state: String
    public let name: String
    public let kind: String
    public let lat: Double
    public let lon: Double
    public let provides: [String]
}

/// What a hospital asks for.
public struct StaffingRequest: Sendable, Equatable, Codable {
    public let id: Int64
    public let facilityId: Int64
    public let state: String
    public let profession: String
    public let skills: [String]
    public let maxCredentialLevel: Int
    public let count: Int
    public let start: CalendarDate
    public let end: CalendarDate
    public let priority: Int
    public let notes: String
    public let status: String
    /// Slots held by active assignments (offered, accepted or confirmed).
    public let filled: Int
    public let createdAt: Date
}

/// A volunteer offered to, or booked on, a request.
public struct Assignment: Sendable, Equatable, Codable {
    public let id: Int64
    public let requestId: Int64
    public let volunteerId: Int64
    public let start: CalendarDate
    public let end: CalendarDate
    public internal(set) var status: String
    public let basis: String
    public let conditions: [String]
    public let distanceKm: Int
    public let roundId: Int64
    public let deadline: Date
    public let facilityId: Int64
    public let state: String
}

/// Who an assignment is for, as the parties entitled to it see them.
public struct VolunteerContact: Sendable, Equatable, Codable {
    public let firstName: String
    public let lastName: String
    public let email: String?
    public let phone: String?
    public let registeringState: String
}

/// Why a staffing change was refused.
public enum StaffingStoreError: Error, Sendable, Equatable {
    case facilityNotFound(Int64)
    case requestNotFound(Int64)
    case assignmentNotFound(Int64)
    /// The assignment is not in a state that allows this step.
    case invalidTransition(id: Int64, from: String, to: String)
    case requestCancelled(Int64)
}

/// Facilities, staffing requests and assignments. Changes run inside the caller's transaction.
public struct StaffingStore: Sendable {
    public init() {}

    /// Assignment statuses that hold a slot and the volunteer's dates.
    public static let activeStatuses = ["offered", "accepted", "confirmed"]

    // MARK: Facilities

    public func createFacility(
        _ connection: PGConnection, state: String, name: String, kind: String, lat: Double, lon: Double,
        provides: [String], by actor: Identity?
    ) throws -> Facility {
        let row = try connection.query(
            """
            INSERT INTO facilities (state, name, kind, lat, lon, provides, created_by_name)
            VALUES (\(state), \(name), \(kind), \(lat), \(lon), \(provides), \(actor?.name ?? "system"))
            RETURNING \(unescaped: Self.facilityColumns)
            """)[0]
        return try Self.facility(row)
    }

    public func facility(_ connection: PGConnection, id: Int64) throws -> Facility? {
        try connection.query("SELECT \(unescaped: Self.facilityColumns) FROM facilities WHERE id = \(id)").first.map(Self.facility)
    }

    public func facilities(_ connection: PGConnection, state: String?) throws -> [Facility] {
        try connection.query(
            "SELECT \(unescaped: Self.facilityColumns) FROM facilities WHERE \(state)::text IS NULL OR state = \(state) ORDER BY id"
        ).map(Self.facility)
    }

    static let facilityColumns = "id, state, name, kind, lat, lon, provides"

    static func facility(_ row: PGRow) throws -> Facility {
        Facility(
            id: try row.decode("id"), state: try row.decode("state"), name: try row.decode("name"),
            kind: try row.decode("kind"), lat: try row.decode("lat"), lon: try row.decode("lon"),
            provides: try row.decode("provides"))
    }

    // MARK: Requests

    /// Stores a request for `facility` (which the caller has read, and checked the caller may use).
    public func submit(
        _ connection: PGConnection, _ request: StaffingRequestInput, at facility: Facility, by actor: Identity?
    ) throws -> StaffingRequest {
        let id: Int64 = try connection.query(
            """
            INSERT INTO staffing_requests (facility_id, state, profession, skills, max_credential_level, count, starts, ends,
                                           priority, notes, created_by_name)
            VALUES (\(facility.id), \(facility.state), \(request.profession.rawValue), \(request.skills.map(\.rawValue)),
                    \(request.maxCredentialLevel),
                    \(request.count), \(request.start), \(request.end), \(request.priority), \(request.notes),
                    \(actor?.name ?? "system"))
            RETURNING id
            """)[0].decode("id")
        return try self.request(connection, id: id)!
    }

    public func request(_ connection: PGConnection, id: Int64) throws -> StaffingRequest? {
        try connection.query("SELECT \(unescaped: Self.requestColumns) FROM staffing_requests r WHERE r.id = \(id)").first
            .map(Self.request)
    }

    /// Requests, newest first, by state and/or facility; `openOnly` leaves out cancelled ones.
    public func requests(_ connection: PGConnection, state: String?, facilityID: Int64?, openOnly: Bool) throws -> [StaffingRequest] {
        try connection.query(
            """
            SELECT \(unescaped: Self.requestColumns) FROM staffing_requests r
            WHERE (\(state)::text IS NULL OR r.state = \(state))
              AND (\(facilityID)::bigint IS NULL OR r.facility_id = \(facilityID))
              AND (NOT \(openOnly) OR r.status = 'open')
            ORDER BY r.id DESC
            """
        ).map(Self.request)
    }

    /// States with at least one open request, sorted.
    public func statesWithOpenRequests(_ connection: PGConnection) throws -> [String] {
        try connection.query("SELECT DISTINCT state FROM staffing_requests WHERE status = 'open' ORDER BY state")
            .map { try $0.decode("state") }
    }

    /// Cancels a request and releases its active assignments; returns the released assignments.
    public func cancel(_ connection: PGConnection, id: Int64) throws -> [Assignment] {
        let rows = try connection.query("UPDATE staffing_requests SET status = 'cancelled' WHERE id = \(id) AND status = 'open' RETURNING id")
        if rows.isEmpty {
            if try request(connection, id: id) == nil { throw StaffingStoreError.requestNotFound(id) }
            throw StaffingStoreError.requestCancelled(id)
        }
        return try connection.query(
            """
            WITH released AS (
                UPDATE assignments SET status = 'released', updated_at = now()
                WHERE request_id = \(id) AND status IN ('offered', 'accepted', 'confirmed')
                RETURNING *
            )
            SELECT \(unescaped: Self.assignmentColumns) FROM released a JOIN staffing_requests r ON r.id = a.request_id
            ORDER BY a.id
            """
        ).map(Self.assignment)
    }

    static let requestColumns = """
        r.id, r.facility_id, r.state, r.profession, r.skills, r.max_credential_level, r.count, r.starts, r.ends, r.priority,
        r.notes, r.status, r.created_at,
        (SELECT count(*) FROM assignments a WHERE a.request_id = r.id AND a.status IN ('offered', 'accepted', 'confirmed')) AS filled
        """

    static func request(_ row: PGRow) throws -> StaffingRequest {
        StaffingRequest(
            id: try row.decode("id"), facilityId: try row.decode("facility_id"), state: try row.decode("state"),
            profession: try row.decode("profession"), skills: try row.decode("skills"),
            maxCredentialLevel: try row.decode("max_credential_level"), count: try row.decode("count"),
            start: try row.decode("starts"), end: try row.decode("ends"), priority: try row.decode("priority"),
            notes: try row.decode("notes"), status: try row.decode("status"), filled: try row.decode("filled"),
            createdAt: try row.decode("created_at"))
    }

    // MARK: Assignments

    static let assignmentColumns = """
        a.id, a.request_id, a.volunteer_id, lower(a.period) AS starts, upper(a.period) - 1 AS ends, a.status, a.basis,
        a.conditions, a.distance_km, a.round_id, a.deadline, r.facility_id, r.state
        """

    static func assignment(_ row: PGRow) throws -> Assignment {
        Assignment(
            id: try row.decode("id"), requestId: try row.decode("request_id"), volunteerId: try row.decode("volunteer_id"),
            start: try row.decode("starts"), end: try row.decode("ends"), status: try row.decode("status"),
            basis: try row.decode("basis"), conditions: try row.decode("conditions"), distanceKm: try row.decode("distance_km"),
            roundId: try row.decode("round_id"), deadline: try row.decode("deadline"), facilityId: try row.decode("facility_id"),
            state: try row.decode("state"))
    }

    public func assignment(_ connection: PGConnection, id: Int64, forUpdate: Bool = false) throws -> Assignment? {
        try connection.query(
            """
            SELECT \(unescaped: Self.assignmentColumns) FROM assignments a JOIN staffing_requests r ON r.id = a.request_id
            WHERE a.id = \(id) \(unescaped: forUpdate ? "FOR UPDATE OF a" : "")
            """
        ).first.map(Self.assignment)
    }

    /// Assignments filtered by request, volunteer, facility and `state` (a request in that state, or a volunteer
    /// registered there), each with the volunteer's name and contact details; newest first, at most 10,000.
    public func assignments(
        _ connection: PGConnection, requestID: Int64?, volunteerID: Int64?, state: String?, facilityID: Int64?, activeOnly: Bool
    ) throws -> [(assignment: Assignment, contact: VolunteerContact)] {
        try connection.query(
            """
            SELECT \(unescaped: Self.assignmentColumns), v.first_name, v.last_name, v.email, v.phone, v.registering_state
            FROM assignments a JOIN staffing_requests r ON r.id = a.request_id JOIN volunteers v ON v.id = a.volunteer_id
            WHERE (\(requestID)::bigint IS NULL OR a.request_id = \(requestID))
              AND (\(volunteerID)::bigint IS NULL OR a.volunteer_id = \(volunteerID))
              AND (\(state)::text IS NULL OR r.state = \(state) OR v.registering_state = \(state))
              AND (\(facilityID)::bigint IS NULL OR r.facility_id = \(facilityID))
              AND (NOT \(activeOnly) OR a.status IN ('offered', 'accepted', 'confirmed'))
            ORDER BY a.id DESC
            LIMIT 10000
            """
        ).map { row in
            let contact = VolunteerContact(
                firstName: try row.decode("first_name"), lastName: try row.decode("last_name"), email: try row.decode("email"),
                phone: try row.decode("phone"), registeringState: try row.decode("registering_state"))
            return (try Self.assignment(row), contact)
        }
    }

    /// Moves an assignment, read `FOR UPDATE` in this transaction, along its lifecycle: `offered → accepted →
    /// confirmed`, `offered|accepted → declined`, any active status `→ released`. Returns it as changed.
    public func transition(_ connection: PGConnection, _ current: Assignment, to target: String) throws -> Assignment {
        let allowed: [String: Set<String>] = [
            "accepted": ["offered"], "confirmed": ["accepted"], "declined": ["offered", "accepted"],
            "released": ["offered", "accepted", "confirmed"],
        ]
        guard allowed[target]?.contains(current.status) == true else {
            throw StaffingStoreError.invalidTransition(id: current.id, from: current.status, to: target)
        }
        try connection.query("UPDATE assignments SET status = \(target), updated_at = now() WHERE id = \(current.id)")
        var changed = current
        changed.status = target
        return changed
    }

    /// Marks offers past their deadline `expired` (in one state, or all); returns the state of each expired offer.
    @discardableResult
    public func expireOverdue(_ connection: PGConnection, state: String?) throws -> [String] {
        try connection.query(
            """
            UPDATE assignments a SET status = 'expired', updated_at = now()
            FROM staffing_requests r
            WHERE r.id = a.request_id AND a.status = 'offered' AND a.deadline < now()
              AND (\(state)::text IS NULL OR r.state = \(state))
            RETURNING r.state
            """
        ).map { try $0.decode("state") }
    }

    /// Volunteers actively booked (offered, accepted or confirmed) on any day from `start` to `end`, each with the
    /// requests they are booked on.
    public func bookings(_ connection: PGConnection, from start: CalendarDate, to end: CalendarDate) throws -> [Int64: [Int64]] {
        var booked: [Int64: [Int64]] = [:]
        for row in try connection.query(
            """
            SELECT volunteer_id, request_id FROM assignments
            WHERE status IN ('offered', 'accepted', 'confirmed') AND period && daterange(\(start), \(end), '[]')
            """)
        {
            booked[try row.decode("volunteer_id"), default: []].append(try row.decode("request_id"))
        }
        return booked
    }

    /// Volunteers who declined, or let expire, an offer on any of these requests: not offered them again.
    public func declined(_ connection: PGConnection, requests: [Int64]) throws -> Set<Int64> {
        if requests.isEmpty { return [] }
        return Set(
            try connection.query(
                """
                SELECT DISTINCT volunteer_id FROM assignments
                WHERE request_id = ANY (\(requests)::bigint[]) AND status IN ('declined', 'expired')
                """
            ).map { try $0.decode("volunteer_id") })
    }

    /// One proposed offer.
    public struct Offer: Sendable {
        public let requestID: Int64
        public let volunteerID: Int64
        public let start: CalendarDate
        public let end: CalendarDate
        public let basis: String
        public let conditions: [String]
        public let distanceKm: Int

        public init(requestID: Int64, volunteerID: Int64, start: CalendarDate, end: CalendarDate, basis: String, conditions: [String], distanceKm: Int) {
            self.requestID = requestID
            self.volunteerID = volunteerID
            self.start = start
            self.end = end
            self.basis = basis
            self.conditions = conditions
            self.distanceKm = distanceKm
        }
    }

    /// A new round number.
    public func nextRound(_ connection: PGConnection) throws -> Int64 {
        try connection.query("SELECT nextval('match_rounds') AS id")[0].decode("id")
    }

    /// Writes a round's offers in one statement; returns their ids in order.
    public func writeOffers(_ connection: PGConnection, _ offers: [Offer], round: Int64, deadline: Date) throws -> [Int64] {
        if offers.isEmpty { return [] }
        return try connection.query(
            """
            INSERT INTO assignments (request_id, volunteer_id, period, status, basis, conditions, distance_km, round_id, deadline)
            SELECT o.request_id, o.volunteer_id, daterange(o.starts, o.ends, '[]'), 'offered', o.basis,
                   string_to_array(o.conditions, ','), o.distance_km, \(round), \(deadline)
            FROM unnest(\(offers.map(\.requestID))::bigint[], \(offers.map(\.volunteerID))::bigint[],
                        \(offers.map(\.start))::date[], \(offers.map(\.end))::date[], \(offers.map(\.basis))::text[],
                        \(offers.map { $0.conditions.joined(separator: ",") })::text[], \(offers.map(\.distanceKm))::int[])
                 WITH ORDINALITY AS o(request_id, volunteer_id, starts, ends, basis, conditions, distance_km, n)
            ORDER BY o.n
            RETURNING id
            """
        ).map { try $0.decode("id") }
    }

    /// Serialises matching rounds for one state across daemons, for the rest of the transaction.
    public func lockRound(_ connection: PGConnection, state: String) throws {
        try connection.query("SELECT pg_advisory_xact_lock(hashtextextended('muster.match:' || \(state), 0))")
    }
}

extension StaffingStore {
    /// Keeps the volunteer's status in step with their bookings: confirmed makes an available volunteer deployed;
    /// a deployed volunteer with no confirmed booking left is available again.
    public func updateVolunteerStatus(_ connection: PGConnection, after assignment: Assignment) throws {
        if assignment.status == "confirmed" {
            try connection.query("UPDATE volunteers SET status = 'deployed', updated_at = now() WHERE id = \(assignment.volunteerId) AND status = 'available'")
        } else {
            try restoreAvailability(connection, volunteers: [assignment.volunteerId])
        }
    }

    /// Deployed volunteers among `volunteers` with no confirmed booking left become available again.
    public func restoreAvailability(_ connection: PGConnection, volunteers: [Int64]) throws {
        if volunteers.isEmpty { return }
        try connection.query(
            """
            UPDATE volunteers v SET status = 'available', updated_at = now()
            WHERE v.id = ANY (\(volunteers)::bigint[]) AND v.status = 'deployed'
              AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.volunteer_id = v.id AND a.status = 'confirmed')
            """)
    }
}
