import Foundation
import MusterCore
import MusterEligibility
import MusterMatching
import MusterPQ
import MusterRegistry
import MusterStore

/// One matching round for a state: builds a `muster-match-instance/1` from the database (open slots; available,
/// verified volunteers not booked over the round's dates, with eligibility evaluated for the state on the
/// request dates), solves it exactly, and writes the offers atomically.
///
/// Rounds for one state are serialised across daemons by an advisory lock, and the exclusion constraint on
/// `assignments` makes a double booking impossible whatever happens here.
enum MatchRound {
    struct Options: Sendable {
        var dryRun = false
        var offerHours = 12
        /// Also explain every request left short (reads every volunteer, not only the available).
        var explain = false
    }

    struct Offer: Encodable {
        let volunteerId: Int64
        let requestId: Int64
        let distanceKm: Int
        let basis: String
        let conditions: [String]
        var assignmentId: Int64?
    }

    struct Unfilled: Encodable {
        let requestId: Int64
        let wanted: Int
        let offered: Int
    }

    struct Result: Encodable {
        let state: String
        let round: Int64?
        let dryRun: Bool
        let requests: Int
        let volunteersConsidered: Int
        let volunteersEligible: Int
        let offers: Int
        let weightedFilled: Int
        let travelKm: Int
        let expiredOffers: Int
        let unfilled: [Unfilled]
    }

    // MARK: Site requirements

    /// The site capability a grant's settings require: none for `any`, otherwise one token naming the allowed
    /// settings (a site of one of them qualifies; see `capabilities`).
    static func settingToken(_ settings: [Setting]) -> String? {
        if settings.contains(.any) || settings.isEmpty { return nil }
        return "setting_" + Set(settings.map(\.rawValue)).sorted().joined(separator: "_or_")
    }

    /// Conditions that a site must provide, as capability tokens; the others bind the volunteer (applications,
    /// insurance) and travel with the offer as information.
    static let siteConditions: [String: String] = [
        "hospital_only": "setting_hospital",
        "acute_care_facility_only": "acute_care",
        "supervision_required": "supervision",
        "direct_supervision_on_premises": "direct_supervision",
        "nj_doh_licensed_facility_or_designated_emergency_site": "nj_doh_licensed_facility",
        "iema_idph_direction_or_ltc_hospital_fqhc": "iema_idph_direction_or_ltc_hospital_fqhc",
        "intern_resident_fellow_at_board_approved_program": "board_approved_program",
    ]

    static func requirements(of grant: Grant) -> Set<String> {
        var tokens = Set(grant.conditions.compactMap { siteConditions[$0] })
        if let token = settingToken(grant.settings) { tokens.insert(token) }
        return tokens
    }

    /// What a facility provides, with its setting expanded into every setting-set token it satisfies.
    static func capabilities(of facility: Facility) -> [String] {
        var own = Set<String>()
        switch facility.kind {
        case "hospital": own.insert("hospital")
        case "alternate_care_site": own.insert("alternate_care_site")
        default: break
        }
        if facility.provides.contains("telehealth") { own.insert("telehealth") }
        var tokens = Set(facility.provides)
        let all = ["alternate_care_site", "hospital", "telehealth"]
        for mask in 1..<(1 << all.count) {
            let subset = all.indices.filter { mask & (1 << $0) != 0 }.map { all[$0] }
            if !own.isDisjoint(with: subset) { tokens.insert("setting_" + subset.joined(separator: "_or_")) }
        }
        return tokens.sorted()
    }

    // MARK: The round

    /// What a round did (or, in a dry run, would do).
    struct Outcome: Sendable {
        let result: Result
        let offers: [Offer]
        /// With `explain`: each request left short, and why.
        let shortage: [ShortRequest]
    }

    /// Runs a round for `state` in one transaction, under the state's advisory lock.
    static func run(state: String, options: Options, actor: Identity?, services: ServerServices) async throws -> Outcome {
        let started = ContinuousClock.now
        let outcome = try await solveAndWrite(state: state, options: options, actor: actor, services: services)
        let kind = options.explain ? "shortage" : options.dryRun ? "dry_run" : actor == nil ? "backfill" : "requested"
        services.metrics.recordRound(state: state, kind: kind, offers: outcome.result.offers, duration: ContinuousClock.now - started)
        return outcome
    }

    private static func solveAndWrite(state: String, options: Options, actor: Identity?, services: ServerServices) async throws -> Outcome {
        let catalog = try await services.orders.catalog(services.pool)
        let today = services.today()
        let audit = services.audit
        let store = services.volunteers
        let outcome = try await services.pool.withTransaction { connection -> Outcome in
            let staffing = StaffingStore()
            try staffing.lockRound(connection, state: state)
            let expired = options.dryRun ? [] : try staffing.expireOverdue(connection, state: state)
            let open = try staffing.requests(connection, state: state, facilityID: nil, openOnly: true)
                .filter { $0.filled < $0.count && $0.end >= today }
            let facilities = Dictionary(
                uniqueKeysWithValues: try staffing.facilities(connection, state: state).map { ($0.id, $0) })
            // The round's dates: a volunteer booked over any of them sits this round out, and eligibility must hold
            // on every request start and end date.
            let dates = Set(open.flatMap { [$0.start, $0.end] }).sorted()
            let booked = try dates.first.map { first in
                try staffing.bookings(connection, from: first, to: open.map(\.end).max()!)
            } ?? [:]
            // Whoever declined or let expire an offer on one of these requests is not offered them again this round.
            let declined = try staffing.declined(connection, requests: open.map(\.id))
            let packsByDate = dates.map { catalog.packs(for: state, on: $0) }

            var volunteers: [MatchVolunteer] = []
            var candidates: [ShortageCandidate] = []
            var bases: [Int64: Grant] = [:]
            var considered = 0
            var after: Int64 = 0
            var filter = VolunteerFilter()
            // A round needs only the available; an explanation counts everyone but the withdrawn.
            if !options.explain { filter.status = .available }
            while !open.isEmpty {
                let batch = try store.list(connection, filter: filter, after: after, limit: 5000)
                for record in batch where record.status != .withdrawn {
                    considered += 1
                    let profile = record.profile
                    var matchVolunteer: MatchVolunteer?
                    var eligible = false
                    if let level = record.credentialLevel {
                        let facts = EligibilityFacts(profile: profile, credentialLevel: level)
                        var tokens = Set<String>()
                        var primary: Grant?
                        eligible = !dates.isEmpty
                        for (index, date) in dates.enumerated() {
                            let decision = EligibilityEngine.evaluate(
                                facts, state: state, date: date, packs: packsByDate[index], explain: false)
                            // The least demanding grant on this date: its site requirements are the volunteer's.
                            guard
                                let best = decision.grants.map({ ($0, requirements(of: $0)) })
                                    .min(by: { $0.1.count < $1.1.count })
                            else {
                                eligible = false
                                break
                            }
                            tokens.formUnion(best.1)
                            if primary == nil { primary = best.0 }
                        }
                        if eligible, let primary, let location = profile.location {
                            if profile.telehealthOnly { tokens.insert("setting_telehealth") }
                            bases[record.id] = primary
                            matchVolunteer = MatchVolunteer(
                                id: "v-\(record.id)", profession: profile.profession.rawValue,
                                skills: profile.skills.map(\.rawValue), credentialLevel: level, lat: location.lat,
                                lon: location.lon,
                                maxTravelKm: profile.telehealthOnly ? 20_000 : Double(profile.maxTravelKm ?? 20_000),
                                availableFrom: MatchDate(profile.availability?.from.description ?? "1900-01-01")!,
                                availableTo: MatchDate(profile.availability?.to.description ?? "2999-12-31")!,
                                eligibleStates: [state: tokens.sorted()])
                        }
                    }
                    if let matchVolunteer, record.status == .available, booked[record.id] == nil,
                        !declined.contains(record.id)
                    {
                        volunteers.append(matchVolunteer)
                    }
                    if options.explain {
                        candidates.append(
                            ShortageCandidate(
                                id: record.id, status: record.status, profession: profile.profession.rawValue,
                                skills: Set(profile.skills.map(\.rawValue)), credentialLevel: record.credentialLevel,
                                eligible: eligible, volunteer: matchVolunteer, bookedOn: booked[record.id] ?? [],
                                declined: declined.contains(record.id)))
                    }
                }
                guard batch.count == 5000, let last = batch.last else { break }
                after = last.id
            }
            var matchRequests: [Int64: MatchRequest] = [:]
            let requests = open.compactMap { request -> MatchRequest? in
                guard let facility = facilities[request.facilityId] else { return nil }
                let match = MatchRequest(
                    id: "r-\(request.id)", state: state, profession: request.profession, skills: request.skills,
                    maxCredentialLevel: request.maxCredentialLevel, lat: facility.lat, lon: facility.lon,
                    count: request.count - request.filled, priority: request.priority,
                    start: MatchDate(request.start.description)!, end: MatchDate(request.end.description)!,
                    provides: capabilities(of: facility))
                matchRequests[request.id] = match
                return match
            }
            let instance = try MatchInstance(volunteers: volunteers, requests: requests)
            let solution = MatchSolver.solve(instance)
            let byID = Dictionary(uniqueKeysWithValues: open.map { ($0.id, $0) })
            var offers: [Offer] = []
            var proposals: [StaffingStore.Offer] = []
            var offeredTo: [Int64: Int64] = [:]
            for pair in solution.assignments {
                let volunteerID = Int64(pair.volunteer.dropFirst(2))!
                let requestID = Int64(pair.request.dropFirst(2))!
                let request = byID[requestID]!
                let grant = bases[volunteerID]!
                offeredTo[volunteerID] = requestID
                offers.append(
                    Offer(
                        volunteerId: volunteerID, requestId: requestID, distanceKm: pair.travelKm, basis: grant.description,
                        conditions: grant.conditions))
                proposals.append(
                    StaffingStore.Offer(
                        requestID: requestID, volunteerID: volunteerID, start: request.start, end: request.end,
                        basis: grant.description, conditions: grant.conditions, distanceKm: pair.travelKm))
            }
            var round: Int64?
            if !options.dryRun && !offers.isEmpty {
                let number = try staffing.nextRound(connection)
                round = number
                let deadline = Date().addingTimeInterval(Double(options.offerHours) * 3600)
                let ids = try staffing.writeOffers(connection, proposals, round: number, deadline: deadline)
                for index in offers.indices { offers[index].assignmentId = ids[index] }
                struct Written: Encodable {
                    let round: Int64
                    let offers: [Offer]
                }
                try audit.record(
                    connection, actor: actor, action: "assignment.offer", entity: "match_round", entityID: number, state: state,
                    before: nil, after: try PGJSON(encoding: Written(round: number, offers: offers)))
                struct RoundEvent: Encodable {
                    let type = "round"
                    let state: String
                    let round: Int64
                    let offers: Int
                    let backfill: Bool
                }
                let event = JSONText.encode(RoundEvent(state: state, round: number, offers: offers.count, backfill: actor == nil))
                try connection.query("SELECT pg_notify(\(MusterEvent.channel), \(event))")
            }
            var offeredPerRequest: [Int64: Int] = [:]
            for offer in offers { offeredPerRequest[offer.requestId, default: 0] += 1 }
            let unfilled = open.compactMap { request -> Unfilled? in
                let wanted = request.count - request.filled
                let offered = offeredPerRequest[request.id] ?? 0
                return offered < wanted ? Unfilled(requestId: request.id, wanted: wanted, offered: offered) : nil
            }
            let shortage = options.explain ? unfilled.compactMap { short -> ShortRequest? in
                guard let request = byID[short.requestId], let match = matchRequests[short.requestId] else { return nil }
                var counts = ShortageCounts()
                for candidate in candidates {
                    if let filter = candidate.filter(for: match, requestID: request.id, offeredThisRound: offeredTo[candidate.id]) {
                        counts[filter] += 1
                    }
                }
                return ShortRequest(
                    requestId: request.id, facilityId: request.facilityId, profession: request.profession,
                    priority: request.priority, wanted: request.count, filled: request.filled + short.offered,
                    short: short.wanted - short.offered, considered: considered, removedBy: counts)
            } : []
            let result = Result(
                state: state, round: round, dryRun: options.dryRun, requests: open.count, volunteersConsidered: considered,
                volunteersEligible: volunteers.count, offers: offers.count, weightedFilled: solution.weightedFilled,
                travelKm: solution.travelKm, expiredOffers: expired.count, unfilled: unfilled)
            return Outcome(result: result, offers: offers, shortage: shortage)
        }
        return outcome
    }
}
