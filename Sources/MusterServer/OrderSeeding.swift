import Foundation
import Logging
import MusterEligibility
import MusterPQ
import MusterStore

/// Stores a directory of rule packs at start (`musterd --load-orders DIR`), so that a new deployment answers from
/// the shipped orders at once. Idempotent: a file whose exact text is already stored adds nothing, and a rescinded
/// instrument stays rescinded.
public enum OrderSeeding {
    /// Why the directory could not be stored.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Compiles every `*.yaml` in `directory` (all must be valid, or nothing is stored) and stores them in one
    /// transaction. Returns how many versions were added.
    @discardableResult
    public static func load(directory: String, pool: PGPool, logger: Logger) async throws -> Int {
        let paths: [String]
        do {
            paths = try RulePackFile.paths(inDirectory: directory)
        } catch {
            throw Failure(description: "--load-orders: cannot read directory \(directory): \(error.localizedDescription)")
        }
        let (packs, failures) = RulePackFile.compile(paths)
        if !failures.isEmpty {
            throw Failure(
                description: "--load-orders: nothing stored; invalid packs in \(directory):\n"
                    + failures.map(\.description).joined(separator: "\n"))
        }
        let added = try await pool.withTransaction { connection in
            var added = 0
            for file in packs where try OrderStore().load(connection, pack: file.pack, yaml: file.text, by: nil).created {
                added += 1
            }
            return added
        }
        logger.info("rule packs loaded at start", metadata: ["directory": "\(directory)", "files": "\(paths.count)", "added": "\(added)"])
        return added
    }
}
