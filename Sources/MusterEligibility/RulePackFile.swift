import Foundation

/// A rule pack file: where it was read from, its text (what the database stores), and the pack compiled from it.
public struct RulePackFile: Sendable {
    public let path: String
    public let text: String
    public let pack: RulePack

    /// A file that could not be read or compiled; the description lists every problem.
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let path: String
        public let description: String
    }

    /// The `*.yaml` files in `directory`, in name order.
    public static func paths(inDirectory directory: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".yaml") }.sorted()
            .map { (directory as NSString).appendingPathComponent($0) }
    }

    /// Reads and compiles each file (the pack's `file` is the file name). Every file is tried, so all failures are
    /// reported together; callers that must not act on part of a set check `failures` first.
    public static func compile(_ paths: [String]) -> (files: [RulePackFile], failures: [Failure]) {
        var files: [RulePackFile] = []
        var failures: [Failure] = []
        for path in paths {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                failures.append(Failure(path: path, description: "\(path): cannot be read as UTF-8 text"))
                continue
            }
            do throws(PackLoadError) {
                files.append(RulePackFile(path: path, text: text, pack: try RulePack.load(yaml: text, file: (path as NSString).lastPathComponent)))
            } catch {
                failures.append(Failure(path: path, description: error.description))
            }
        }
        return (files, failures)
    }
}
