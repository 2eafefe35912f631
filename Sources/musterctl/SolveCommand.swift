import ArgumentParser
import Foundation
import MusterMatching

#if canImport(Glibc)
    import Glibc
#endif

extension MusterCtl {
    struct Solve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Solve a matching instance file exactly and print the solution JSON.",
            discussion: """
                Reads a muster-match-instance/1 document (see the matching spec), finds the assignment with the \
                most priority-weighted filled slots and then the least travel, and prints the \
                muster-match-solution/1 document on standard output. '-' reads standard input. Exit status 0 \
                solved, 1 invalid instance (the message names the value), 2 unreadable file.
                """)

        @Argument(help: "The instance file, or - for standard input.")
        var file: String

        @Flag(help: "Timings and solver statistics on standard error.")
        var stats = false

        @Option(help: "Worker threads (default: one per core).")
        var threads: Int?

        func validate() throws {
            if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
        }

        func run() throws {
            let clock = ContinuousClock()
            let started = clock.now
            let instance: MatchInstance
            do {
                // Decoded in its own scope so the file's bytes are freed before solving.
                instance = try MatchInstance.decode(try Self.read(file))
            } catch let error as MatchInstanceError {
                FileHandle.standardError.write(Data("musterctl solve: \(file): \(error)\n".utf8))
                throw ExitCode(1)
            }
            let decoded = clock.now
            let (solution, statistics) = MatchSolver.solveWithStatistics(instance, threads: threads)
            let solved = clock.now
            FileHandle.standardOutput.write(Data(solution.jsonBytes()))
            if stats {
                func ms(_ duration: Duration) -> String {
                    "\(duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000) ms"
                }
                FileHandle.standardError.write(
                    Data(
                        """
                        read+decode \(ms(decoded - started)), solve \(ms(solved - decoded)) (pairs \(Int(statistics.candidateSeconds * 1000)) ms, \
                        flow \(Int(statistics.flowSeconds * 1000)) ms); volunteers \(instance.volunteers.count), requests \
                        \(instance.requests.count), feasible pairs \(statistics.feasiblePairs), assigned \(solution.assigned), \
                        weightedFilled \(solution.weightedFilled), travelKm \(solution.travelKm)

                        """.utf8))
            }
        }

        /// The whole file (or standard input) as bytes.
        static func read(_ path: String) throws -> [UInt8] {
            let handle: FileHandle
            if path == "-" {
                handle = FileHandle.standardInput
            } else {
                guard let opened = FileHandle(forReadingAtPath: path) else {
                    FileHandle.standardError.write(Data("musterctl solve: cannot open \(path)\n".utf8))
                    throw ExitCode(2)
                }
                handle = opened
            }
            do {
                return Array(try handle.readToEnd() ?? Data())
            } catch {
                FileHandle.standardError.write(Data("musterctl solve: cannot read \(path): \(error.localizedDescription)\n".utf8))
                throw ExitCode(2)
            }
        }
    }
}
