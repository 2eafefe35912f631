import Foundation
import Testing
@testable import MusterMatching

@Suite struct EdgeCaseTests {
    @Test func noVolunteers() throws {
        let instance = try MatchInstance(volunteers: [], requests: [request("r1", count: 3)])
        let s = MatchSolver.solve(instance)
        #expect(s.assigned == 0 && s.weightedFilled == 0 && s.travelKm == 0)
        #expect(s.json() == """
            {
              "format": "muster-match-solution/1",
              "weightedFilled": 0,
              "travelKm": 0,
              "assigned": 0,
              "assignments": []
            }

            """)
    }

    @Test func noRequests() throws {
        let instance = try MatchInstance(volunteers: [volunteer("v1"), volunteer("v2")], requests: [])
        let s = MatchSolver.solve(instance)
        #expect(s.assigned == 0)
    }

    @Test func emptyInstance() throws {
        let s = MatchSolver.solve(try MatchInstance(volunteers: [], requests: []))
        #expect(s.assigned == 0)
    }

    @Test func countLargerThanCandidates() throws {
        let instance = try MatchInstance(
            volunteers: [volunteer("v1"), volunteer("v2", lat: 40.1), volunteer("v3", profession: "nurse")],
            requests: [request("r1", count: 1_000_000_000)])
        let s = MatchSolver.solve(instance)
        #expect(s.assigned == 2)
        #expect(s.weightedFilled == 6)
        #expect(s.travelKm == roundedKm(haversineKm(lat1: 40.1, lon1: -74, lat2: 40, lon2: -74)))
    }

    /// weightedFilled is maximised over the whole assignment: v1 could serve either request,
    /// v2 only b, so the optimum (5) sends v1 to a and v2 to b.
    @Test func weightedFilledBeforeTravel() throws {
        let a = request("a", lat: 40, lon: -74, count: 1, priority: 3)
        let b = request("b", lat: 40.5, lon: -74, count: 1, priority: 2)
        let v1 = volunteer("v1", lat: 40.25, lon: -74, maxTravelKm: 100)
        let v2 = volunteer("v2", lat: 40.5, lon: -74, maxTravelKm: 10)
        let s = MatchSolver.solve(try MatchInstance(volunteers: [v1, v2], requests: [a, b]))
        #expect(s.weightedFilled == 5)
        #expect(Set(s.assignments.map { "\($0.volunteer)->\($0.request)" }) == ["v1->a", "v2->b"])
    }

    /// Travel only breaks ties in weightedFilled: a long trip that raises weightedFilled wins.
    @Test func longTripWinsWhenItAddsPriority() throws {
        let near = request("near", lat: 40, lon: -74, count: 1, priority: 1)
        let far = request("far", lat: 41, lon: -74, count: 1, priority: 2)
        let v = volunteer("v", lat: 40, lon: -74, maxTravelKm: 200)
        let s = MatchSolver.solve(try MatchInstance(volunteers: [v], requests: [near, far]))
        #expect(s.weightedFilled == 2)
        #expect(s.assignments.map(\.request) == ["far"])
    }

    /// Equal weightedFilled: the shorter total travel wins, even when it means not taking the
    /// individually nearest volunteer.
    @Test func minimisesTotalTravelAmongEqualPriority() throws {
        // Requests A (x=0) and B (x=10 km east); volunteers P (x=4) and Q (x=-6), Q can reach
        // only A. Greedy nearest (P->A, then Q cannot reach B) fills one; optimum fills both:
        // Q->A (6 km) + P->B (6 km).
        let kmPerDegree = 6371.0 * Double.pi / 180 * cos(40 * Double.pi / 180)
        func lon(_ km: Double) -> Double { -74 + km / kmPerDegree }
        let a = request("A", lat: 40, lon: lon(0), priority: 3)
        let b = request("B", lat: 40, lon: lon(10), priority: 3)
        let p = volunteer("P", lat: 40, lon: lon(4), maxTravelKm: 50)
        let q = volunteer("Q", lat: 40, lon: lon(-6), maxTravelKm: 7)
        let s = MatchSolver.solve(try MatchInstance(volunteers: [p, q], requests: [a, b]))
        #expect(s.assigned == 2)
        #expect(s.travelKm == 12)
    }

    @Test func tiesGiveTheUniqueSumsAndAreDeterministic() throws {
        // Five identical volunteers, two identical requests with 2 slots: many optimal
        // assignments, one pair of sums, the same answer every time.
        let vs = (1...5).map { volunteer("v\($0)", lat: 40.05, lon: -74) }
        let rs = [request("r1", count: 2), request("r2", count: 2)]
        let instance = try MatchInstance(volunteers: vs, requests: rs)
        let first = MatchSolver.solve(instance)
        #expect(first.assigned == 4)
        #expect(first.weightedFilled == 12)
        #expect(first.travelKm == 4 * roundedKm(haversineKm(lat1: 40.05, lon1: -74, lat2: 40, lon2: -74)))
        for _ in 0..<5 { #expect(MatchSolver.solve(instance).json() == first.json()) }
    }

    /// A volunteer exactly at the travel limit is feasible; one ulp less and it is not.
    @Test func exactlyAtTheTravelLimit() throws {
        let r = request("r", lat: 40.7128, lon: -74.006)
        let d = haversineKm(lat1: 40.8448, lon1: -73.8648, lat2: 40.7128, lon2: -74.006)
        let at = volunteer("at", lat: 40.8448, lon: -73.8648, maxTravelKm: d)
        let below = volunteer("below", lat: 40.8448, lon: -73.8648, maxTravelKm: d.nextDown)
        #expect(MatchFeasibility.isFeasible(volunteer: at, request: r))
        #expect(!MatchFeasibility.isFeasible(volunteer: below, request: r))
        #expect(MatchFeasibility.reason(volunteer: below, request: r) == .distance(km: d, maxTravelKm: d.nextDown))
        let s1 = MatchSolver.solve(try MatchInstance(volunteers: [below, at], requests: [request("r", lat: 40.7128, lon: -74.006, count: 2)]))
        #expect(s1.assignments.map(\.volunteer) == ["at"])
        // The same at scale, where the spatial index and the chord prefilter are in play.
        var many: [MatchVolunteer] = []
        for k in 0..<2000 {
            let lat = 40.7128 + Double(k % 40 - 20) * 0.013, lon = -74.006 + Double(k / 40 - 25) * 0.017
            let dk = haversineKm(lat1: lat, lon1: lon, lat2: 40.7128, lon2: -74.006)
            // (k = 1020 sits on the site itself: distance 0, any positive limit.)
            let limit = dk == 0 ? 1 : (k % 2 == 0 ? dk : dk.nextDown)
            many.append(volunteer("v\(k)", lat: lat, lon: lon, maxTravelKm: limit))
        }
        let instance = try MatchInstance(volunteers: many, requests: [request("r", lat: 40.7128, lon: -74.006, count: 5000)])
        let s = MatchSolver.solve(instance)
        // Every even one (exactly at its limit) and none of the odd ones (one ulp short).
        #expect(s.assigned == 1000)
        #expect(s.assignments.allSatisfy { $0.volunteerIndex % 2 == 0 })
    }

    @Test func roundingHalfAwayFromZero() {
        #expect(roundedKm(0.5) == 1)
        #expect(roundedKm(2.5) == 3)
        #expect(roundedKm(3.5) == 4)
        #expect(roundedKm(2.4999999999999996) == 2)
        #expect(roundedKm(10.5) == 11)
        #expect(roundedKm(-2.5) == -3)
        #expect(roundedKm(0.49999999999999994) == 0)
        #expect(roundedKm(20015.086796020572) == 20015)
    }

    @Test func pairTravelUsesRoundedDistance() throws {
        var g = SeededGenerator(seed: 5)
        let instance = randomInstance(&g, volunteers: 60, requests: 8)
        let s = MatchSolver.solve(instance)
        for a in s.assignments {
            let d = instance.volunteers[a.volunteerIndex].distanceKm(to: instance.requests[a.requestIndex])
            #expect(a.travelKm == Int((d + 0.5).rounded(.down)))
        }
    }

    @Test func feasibilityReasonsFollowTheSpecOrder() {
        let r = request("r", state: "NY", skills: ["icu"], maxCredential: 2, provides: ["supervision"])
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", profession: "nurse"), request: r)
                == .profession(volunteer: "nurse", request: "physician"))
        #expect(MatchFeasibility.reason(volunteer: volunteer("v"), request: r) == .missingSkills(["icu"]))
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", skills: ["icu"], credential: 3), request: r)
                == .credentialLevel(volunteer: 3, maximum: 2))
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", skills: ["icu"], eligible: ["NJ": []]), request: r)
                == .notEligibleInState("NY"))
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", skills: ["icu"], eligible: ["NY": ["orientation"]]), request: r)
                == .conditionsNotProvided(["orientation"]))
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", skills: ["icu"], from: "2020-05-02",
                                                     eligible: ["NY": ["supervision"]]), request: r) == .dates)
        #expect(MatchFeasibility.reason(volunteer: volunteer("v", skills: ["icu"], from: "2020-05-01", to: "2020-05-10",
                                                     eligible: ["NY": ["supervision"]]), request: r) == nil)
    }

    @Test func haversineMatchesTheSpecFormulaLiterally() {
        // Bit-exact values from the reference Python (shared/match-samples/spec.py, repr()).
        // (Strings, not literals: see HaversineReference.swift.)
        let reference: [(Double, Double, Double, Double, Double)] = [
            ("40.7128", "-74.0060", "40.8448", "-73.8648", "18.88882705169861"),
            ("40.30823", "-74.54484", "40.64131", "-74.13727", "50.59834336864911"),
            ("0", "0", "0", "179.9999", "20015.075676020926"),
            ("89.99", "10", "-89.99", "-170", "20015.086796020572"),
            ("29.9511", "-90.0715", "47.6062", "-122.3321", "3377.7416977317093"),
            ("42.8864", "-78.8784", "42.88641", "-78.87841", "0.0013784833460826996"),
        ].map { (Double($0.0)!, Double($0.1)!, Double($0.2)!, Double($0.3)!, Double($0.4)!) }
        for (lat1, lon1, lat2, lon2, km) in reference + haversineReference {
            #expect(haversineKm(lat1: lat1, lon1: lon1, lat2: lat2, lon2: lon2).bitPattern == km.bitPattern,
                    "\(lat1), \(lon1), \(lat2), \(lon2)")
        }
        #expect(haversineKm(lat1: 0, lon1: 0, lat2: 0, lon2: 0) == 0)
        #expect(haversineKm(lat1: 90, lon1: 0, lat2: -90, lon2: 0) == 2 * 6371.0 * (Double.pi / 2))
        // Symmetric to the bit.
        var g = SeededGenerator(seed: 1)
        for _ in 0..<1000 {
            let a = (Double.random(in: -90...90, using: &g), Double.random(in: -180...180, using: &g))
            let b = (Double.random(in: -90...90, using: &g), Double.random(in: -180...180, using: &g))
            #expect(haversineKm(lat1: a.0, lon1: a.1, lat2: b.0, lon2: b.1)
                    == haversineKm(lat1: b.0, lon1: b.1, lat2: a.0, lon2: a.1))
        }
    }

    /// The folding constant M exceeds any possible total travel of the component.
    @Test func foldingConstantDominatesTravel() {
        var c = FlowComponent()
        c.requestCount = 2
        c.volunteerCount = 3
        c.capacity = [2, 2]
        c.priority = [1, 5]
        c.candidateStart = [0, 3, 6]
        c.candidateVolunteer = [0, 1, 2, 0, 1, 2]
        c.candidateKm = [5, 7, 200, 1, 2, 3]
        let solver = TransportationSolver(c)
        // U = min(3 volunteers, 4 slots) = 3, maxKm = 200: M = 601 > 3 * 200.
        #expect(solver.scale == 601)
    }
}
