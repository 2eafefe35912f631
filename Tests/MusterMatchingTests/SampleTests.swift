import Foundation
import Testing
@testable import MusterMatching

/// The shared samples with their independently proved optimal sums.
@Suite struct SampleTests {
    static let samples: [(name: String, weightedFilled: Int, travelKm: Int, assigned: Int)] = [
        ("tiny", 6, 81, 3),
        ("small", 1062, 11499, 331),
        ("mid", 6703, 73840, 2498),
    ]

    @Test(arguments: samples.map(\.name))
    func optimalSums(name: String) throws {
        let dir = try #require(sharedSamplesDirectory(), "shared/match-samples not found above \(#filePath)")
        let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent("\(name).json")))
        let instance = try MatchInstance.decode(bytes)
        let solution = MatchSolver.solve(instance)

        // The reference solution's sums, read from its file.
        let refData = try Data(contentsOf: dir.appendingPathComponent("\(name).solution.json"))
        let ref = try #require(try JSONSerialization.jsonObject(with: refData) as? [String: Any])
        let refW = try #require(ref["weightedFilled"] as? Int)
        let refK = try #require(ref["travelKm"] as? Int)
        #expect(solution.weightedFilled == refW)
        #expect(solution.travelKm == refK)

        let expected = try #require(SampleTests.samples.first { $0.name == name })
        #expect(solution.weightedFilled == expected.weightedFilled)
        #expect(solution.travelKm == expected.travelKm)
        #expect(solution.assigned == expected.assigned)
        #expect(problems(solution, instance) == [])
    }

    @Test func threadCountDoesNotChangeTheResult() throws {
        let dir = try #require(sharedSamplesDirectory())
        let instance = try MatchInstance.decode([UInt8](Data(contentsOf: dir.appendingPathComponent("small.json"))))
        let one = MatchSolver.solve(instance, threads: 1)
        let two = MatchSolver.solve(instance, threads: 2)
        let four = MatchSolver.solve(instance, threads: 4)
        #expect(one.json() == two.json())
        #expect(one.json() == four.json())
    }

    /// The solution document parses as JSON with exactly the spec's fields and values.
    @Test func solutionDocumentShape() throws {
        let dir = try #require(sharedSamplesDirectory())
        let instance = try MatchInstance.decode([UInt8](Data(contentsOf: dir.appendingPathComponent("tiny.json"))))
        let solution = MatchSolver.solve(instance)
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(solution.json().utf8)) as? [String: Any])
        #expect(Set(doc.keys) == ["format", "weightedFilled", "travelKm", "assigned", "assignments"])
        #expect(doc["format"] as? String == "muster-match-solution/1")
        #expect(doc["weightedFilled"] as? Int == 6)
        #expect(doc["travelKm"] as? Int == 81)
        #expect(doc["assigned"] as? Int == 3)
        let pairs = try #require(doc["assignments"] as? [[String: String]])
        #expect(pairs.count == 3)
        #expect(pairs.map { $0["volunteer"]! } == solution.assignments.map(\.volunteer))
        // Ordered by volunteer position in the instance.
        #expect(solution.assignments.map(\.volunteerIndex) == solution.assignments.map(\.volunteerIndex).sorted())
    }
}
