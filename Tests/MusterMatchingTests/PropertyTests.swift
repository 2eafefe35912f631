import Testing
@testable import MusterMatching

/// The solver against exhaustive enumeration and an independent Bellman-Ford min-cost flow
/// on seeded random instances full of ties.
@Suite struct PropertyTests {
    @Test func matchesBruteForceOnSmallRandomInstances() {
        var g = SeededGenerator(seed: 20200401)
        var nonTrivial = 0
        for round in 0..<600 {
            // Mostly 2-7 volunteers and 1-3 requests; every 20th round may be empty on a side.
            let empty = round % 20 == 0
            let instance = randomInstance(&g, volunteers: Int.random(in: (empty ? 0 : 2)...7, using: &g),
                                          requests: Int.random(in: (empty ? 0 : 1)...3, using: &g))
            let solution = MatchSolver.solve(instance, threads: 1 + round % 2)
            let best = bruteForceOptimum(instance)
            #expect(solution.weightedFilled == best.weightedFilled, "round \(round)")
            #expect(solution.travelKm == best.travelKm, "round \(round)")
            #expect(problems(solution, instance) == [], "round \(round)")
            if solution.assigned > 1 { nonTrivial += 1 }
        }
        #expect(nonTrivial > 200, "the generator should produce real competition")
    }

    @Test func matchesBellmanFordOnMediumRandomInstances() {
        var g = SeededGenerator(seed: 7)
        for round in 0..<60 {
            let instance = randomInstance(&g, volunteers: Int.random(in: 10...60, using: &g),
                                          requests: Int.random(in: 1...12, using: &g))
            let solution = MatchSolver.solve(instance)
            let best = bellmanFordOptimum(instance)
            #expect(solution.weightedFilled == best.weightedFilled, "round \(round)")
            #expect(solution.travelKm == best.travelKm, "round \(round)")
            #expect(problems(solution, instance) == [], "round \(round)")
        }
    }

    /// More slots than volunteers and one profession: long chains of moved volunteers,
    /// requests that stay partly filled, many equal-length augmenting paths.
    @Test func matchesBellmanFordUnderContention() {
        var g = SeededGenerator(seed: 1234)
        for round in 0..<12 {
            let instance = randomInstance(&g, volunteers: Int.random(in: 40...90, using: &g),
                                          requests: Int.random(in: 10...30, using: &g), counts: 2...9)
            let solution = MatchSolver.solve(instance)
            let best = bellmanFordOptimum(instance)
            #expect(solution.weightedFilled == best.weightedFilled, "round \(round)")
            #expect(solution.travelKm == best.travelKm, "round \(round)")
            #expect(problems(solution, instance) == [], "round \(round)")
        }
    }

    /// The candidate generator (spatial index, bit sets, prefilters) finds exactly the pairs
    /// the literal rule accepts, with the same rounded km.
    @Test func candidatePairsEqualTheLiteralRule() {
        var g = SeededGenerator(seed: 99)
        for _ in 0..<40 {
            let instance = randomInstance(&g, volunteers: 80, requests: 15)
            let compiled = CompiledInstance(instance)
            let set = CandidateGenerator.generate(compiled, threads: 2)
            for (j, r) in instance.requests.enumerated() {
                var expected: [UInt64] = []
                for (i, v) in instance.volunteers.enumerated() where MatchFeasibility.isFeasible(volunteer: v, request: r) {
                    expected.append(UInt64(roundedKm(v.distanceKm(to: r))) << 32 | UInt64(i))
                }
                expected.sort()
                let got = (set.start[j]..<set.start[j + 1]).map { UInt64(set.km[$0]) << 32 | UInt64(set.volunteer[$0]) }
                #expect(got == expected)
            }
        }
    }

    /// Spread-out instances across the globe (dateline, poles, long trips) exercise the
    /// longitude wrap-around and the "no window" branches of the spatial index.
    @Test func candidatePairsWorldwide() throws {
        var g = SeededGenerator(seed: 4242)
        var vs: [MatchVolunteer] = []
        var rs: [MatchRequest] = []
        for i in 0..<300 {
            let lat = Double.random(in: -90...90, using: &g), lon = Double.random(in: -180...180, using: &g)
            let travel = [5.0, 300, 2000, 9000, 21000][Int.random(in: 0..<5, using: &g)]
            vs.append(volunteer("v\(i)", lat: i % 50 == 0 ? 89.99 : lat, lon: i % 7 == 0 ? 179.95 : lon, maxTravelKm: travel))
        }
        for j in 0..<40 {
            let lat = Double.random(in: -90...90, using: &g), lon = Double.random(in: -180...180, using: &g)
            rs.append(request("r\(j)", lat: j % 9 == 0 ? -89.9 : lat, lon: j % 5 == 0 ? -179.97 : lon, count: 3))
        }
        let instance = try MatchInstance(volunteers: vs, requests: rs)
        let set = CandidateGenerator.generate(CompiledInstance(instance), threads: 1)
        var expected = 0
        for v in vs { for r in rs where MatchFeasibility.isFeasible(volunteer: v, request: r) { expected += 1 } }
        #expect(set.pairCount == expected)
        #expect(expected > 100)
        let solution = MatchSolver.solve(instance)
        #expect(problems(solution, instance) == [])
    }
}
