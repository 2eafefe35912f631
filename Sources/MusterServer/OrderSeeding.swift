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
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
        } catch {
            throw Failure(description: "--load-orders: cannot read directory \(directory): \(error.localizedDescription)")
        }
        var compiled: [(RulePack, String)] = []
        var problems: [String] = []
        for name in names {
            let path = (directory as NSString).appendingPathComponent(name)
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                problems.append("\(path): cannot be read as UTF-8 text")
                continue
            }
            do throws(PackLoadError) {
                compiled.append((try RulePack.load(yaml: text, file: name), text))
            } catch {
                problems.append(error.description)
            }
        }
        if !problems.isEmpty {
            throw Failure(description: "--load-orders: nothing stored; invalid packs in \(directory):\n" + problems.joined(separator: "\n"))
        }
        let packs = compiled
        let added = try await pool.withTransaction { connection in
            var added = 0
            for (pack, text) in packs where try OrderStore().load(connection, pack: pack, yaml: text, by: nil).created {
                added += 1
            }
            return added
        }
        logger.info("rule packs loaded at start", metadata: ["directory": "\(directory)", "files": "\(names.count)", "added": "\(added)"])
        return added
    }
}
