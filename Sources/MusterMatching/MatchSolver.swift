import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Solves match instances exactly: maximum `weightedFilled`, then minimum `travelKm`.
///
/// Pipeline: compile the instance to integers and bit sets (`CompiledInstance`), find every
/// feasible pair with a spatial index and the exact spec distance (`CandidateGenerator`),
/// split the pairs into independent connected components (`ComponentSplit`), and solve each
/// component as a min-cost flow by successive shortest paths (`TransportationSolver`),
/// components spread over the available cores. The result does not depend on the number of
/// threads.
public enum MatchSolver {
    /// What a solve did, for logs and benchmarks.
    public struct Statistics: Sendable {
        /// Number of feasible (volunteer, request) pairs.
        public var feasiblePairs = 0
        /// Number of independent components solved.
        public var components = 0
        /// Feasible pairs in the largest component.
        public var largestComponentPairs = 0
        /// Augmenting paths found (= assigned pairs).
        public var augmentations = 0
        /// Shortest-path searches run (the other augmentations needed none).
        public var searches = 0
        /// Request scans made by all shortest-path searches.
        public var requestScans = 0
        /// Wall-clock seconds spent compiling the instance to integers and bit sets.
        public var compileSeconds = 0.0
        /// Wall-clock seconds spent finding the feasible pairs.
        public var candidateSeconds = 0.0
        /// Wall-clock seconds spent splitting into components and solving them.
        public var flowSeconds = 0.0
    }

    /// The optimal solution of `instance`.
    ///
    /// - Parameter threads: worker threads for candidate generation and for independent
    ///   components; defaults to the number of online processors.
    public static func solve(_ instance: MatchInstance, threads: Int? = nil) -> MatchSolution {
        solveWithStatistics(instance, threads: threads).solution
    }

    /// ``solve(_:threads:)`` plus statistics about the work done.
    public static func solveWithStatistics(_ instance: MatchInstance, threads: Int? = nil)
        -> (solution: MatchSolution, statistics: Statistics) {
        let threads = max(1, threads ?? onlineProcessors())
        var stats = Statistics()
        let clock = ContinuousClock()
        func seconds(_ d: Duration) -> Double {
            Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
        }
        let t0 = clock.now
        let compiled = CompiledInstance(instance)
        let t1 = clock.now
        let candidates = CandidateGenerator.generate(compiled, threads: threads)
        let t2 = clock.now
        stats.compileSeconds = seconds(t1 - t0)
        stats.candidateSeconds = seconds(t2 - t1)
        stats.feasiblePairs = candidates.pairCount
        let split = ComponentSplit(candidates, requestCount: compiled.requestCount,
                                   volunteerCount: compiled.volunteerCount)
        stats.components = split.requests.count
        stats.largestComponentPairs = split.pairs.max() ?? 0

        // Result per volunteer: global request (or -1) and the pair's km.
        let nV = compiled.volunteerCount
        let assignedRequest = UnsafeMutableBufferPointer<Int32>.allocate(capacity: nV)
        assignedRequest.initialize(repeating: -1)
        let assignedKm = UnsafeMutableBufferPointer<Int32>.allocate(capacity: nV)
        assignedKm.initialize(repeating: 0)
        let work = UnsafeMutableBufferPointer<(Int, Int, Int)>.allocate(capacity: max(1, split.requests.count))
        work.initialize(repeating: (0, 0, 0))
        defer {
            assignedRequest.deallocate()
            assignedKm.deallocate()
            work.deallocate()
        }
        let sharedRequest = SendableBuffer(assignedRequest)
        let sharedKm = SendableBuffer(assignedKm)
        let sharedWork = SendableBuffer(work)

        // Largest components first, each to the least loaded thread (deterministic).
        let order = split.pairs.indices.sorted { split.pairs[$0] != split.pairs[$1] ? split.pairs[$0] > split.pairs[$1] : $0 < $1 }
        var lanes = [[Int]](repeating: [], count: min(threads, max(1, order.count)))
        var load = [Int](repeating: 0, count: lanes.count)
        for k in order {
            let lane = load.indices.min { load[$0] != load[$1] ? load[$0] < load[$1] : $0 < $1 }!
            lanes[lane].append(k)
            load[lane] += split.pairs[k] + split.requests[k].count
        }
        let count = instance.requests.map(\.count)
        let priority = instance.requests.map(\.priority)
        let lanesCopy = lanes
        let solveLane: @Sendable (Int) -> Void = { lane in
            for k in lanesCopy[lane] {
                let component = split.flowComponent(k, candidates: candidates, count: count, priority: priority)
                var solver = TransportationSolver(component)
                let match = solver.solve()
                sharedWork.buffer[k] = (solver.augmentations, solver.scans, solver.searches)
                let volunteers = split.volunteers[k], requests = split.requests[k]
                for (lv, lr) in match.enumerated() where lr >= 0 {
                    let v = Int(volunteers[lv])
                    sharedRequest.buffer[v] = requests[Int(lr)]
                    // The pair's km: look it up in the request's candidate list.
                    var km: Int32 = 0
                    for e in component.candidateStart[Int(lr)]..<component.candidateStart[Int(lr) + 1]
                        where component.candidateVolunteer[e] == Int32(lv) {
                        km = component.candidateKm[e]
                        break
                    }
                    sharedKm.buffer[v] = km
                }
            }
        }
        if lanes.count > 1 {
            DispatchQueue.concurrentPerform(iterations: lanes.count, execute: solveLane)
        } else if !lanes.isEmpty {
            solveLane(0)
        }
        stats.flowSeconds = seconds(clock.now - t2)
        for k in 0..<split.requests.count {
            stats.augmentations += work[k].0
            stats.requestScans += work[k].1
            stats.searches += work[k].2
        }

        var assignments: [MatchAssignment] = []
        var weighted = 0, travel = 0
        for v in 0..<nV where assignedRequest[v] >= 0 {
            let r = Int(assignedRequest[v])
            let km = Int(assignedKm[v])
            assignments.append(MatchAssignment(volunteer: instance.volunteers[v].id, request: instance.requests[r].id,
                                               volunteerIndex: v, requestIndex: r, travelKm: km))
            weighted += instance.requests[r].priority
            travel += km
        }
        return (MatchSolution(weightedFilled: weighted, travelKm: travel, assignments: assignments), stats)
    }

    static func onlineProcessors() -> Int {
        #if canImport(Glibc) || canImport(Musl) || canImport(Darwin)
        return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #else
        return 1
        #endif
    }
}
