import ArgumentParser
import Foundation
import MusterCore
import MusterEligibility

/// `muster-bench`: prints throughput numbers for Muster's hot paths. Targets live here, not in unit tests.
@main
struct MusterBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "muster-bench",
        abstract: "Benchmarks that print numbers (build with -c release).",
        subcommands: [Eligibility.self, ProtocolBench.self, CSVFile.self])
}

/// A small deterministic generator, so runs are comparable.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension MusterBench {
    struct Eligibility: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluations per second on one core against the shipped packs (target: hundreds of thousands).")

        @Option(help: "Directory of rule packs.") var orders = "Deploy/orders"
        @Option(help: "Synthetic volunteers.") var volunteers = 20_000
        @Option(help: "Evaluation date.") var date = "2020-04-15"

        func run() throws {
            let packs = try EligibilityEngine.loadPacks(directory: orders)
            let catalog = PackCatalog(packs)
            guard let day = CalendarDate(date) else { throw ValidationError("--date: not a calendar date") }
            var random = SplitMix64(state: 42)
            let states = catalog.states
            let facts = (0..<volunteers).map { _ in Self.volunteer(&random, states: states) }
            print("packs: \(packs.count), states: \(states.count), volunteers: \(volunteers), date: \(day)")

            for (explain, requirements) in [(false, false), (false, true), (true, false)] {
                // One state at a time, packs chosen once per state (as the blockers report and matching do).
                var eligible = 0
                var evaluations = 0
                let started = ContinuousClock.now
                for state in states {
                    let inForce = catalog.packs(for: state, on: day)
                    for f in facts {
                        if EligibilityEngine.evaluate(f, state: state, date: day, packs: inForce, explain: explain, requirements: requirements).eligible { eligible += 1 }
                        evaluations += 1
                    }
                }
                let seconds = Self.seconds(ContinuousClock.now - started)
                print(
                    String(
                        format: "every volunteer × every state, %@: %d evaluations in %.2f s = %.0f/s (%d eligible)",
                        explain ? "with reason text        " : requirements ? "unmet requirements only" : "decision only          ",
                        evaluations, seconds, Double(evaluations) / seconds, eligible))
            }
        }

        static func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }

        static func volunteer(_ random: inout SplitMix64, states: [String]) -> EligibilityFacts {
            let home = states.randomElement(using: &random) ?? "NY"
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                return EligibilityFacts(
                    category: .img, profession: "physician", homeState: home,
                    img: .init(
                        usGmeMonths: Int.random(in: 0...36, using: &random), ecfmgCertified: Bool.random(using: &random),
                        yearsOfPractice: Int.random(in: 0...20, using: &random), homeCountryLicenseStanding: .good,
                        graduationDate: CalendarDate("2010-06-01")))
            case 1:
                let lapsed = CalendarDate("2020-04-15")!.adding(days: -Int.random(in: 30...4000, using: &random))
                return EligibilityFacts(
                    category: .retired, profession: ["physician", "registered_nurse"].randomElement(using: &random)!,
                    homeState: home,
                    licenses: [.init(jurisdiction: home, type: "MD", status: .lapsed, lapsed: lapsed)],
                    retired: .init(lastClinicalPractice: lapsed))
            case 2:
                return EligibilityFacts(
                    category: .student, profession: "medical_student", homeState: home,
                    student: .init(
                        program: .medicine, graduationDate: CalendarDate("2020-05-15")!.adding(days: Int.random(in: -400...200, using: &random)),
                        graduated: Bool.random(using: &random)))
            default:
                let from = states.randomElement(using: &random) ?? "TX"
                return EligibilityFacts(
                    category: .licensed, profession: ["registered_nurse", "physician", "licensed_practical_nurse"].randomElement(using: &random)!,
                    homeState: from,
                    licenses: [.init(jurisdiction: from, type: "RN", status: .active, expires: CalendarDate("2021-06-30"), multistate: Bool.random(using: &random))])
            }
        }
    }
}
