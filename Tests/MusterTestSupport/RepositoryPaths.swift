import Foundation

/// Paths inside this repository and its build, for tests.
public enum RepositoryPaths {
    /// The repository root (the directory holding Package.swift).
    public static let root: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
    }()

    /// The matching samples in `shared/match-samples`, beside the repository.
    public static var matchSamples: String {
        URL(fileURLWithPath: root).deletingLastPathComponent().appendingPathComponent("shared/match-samples").path
    }

    /// `Migrations/`.
    public static var migrations: String { root + "/Migrations" }

    /// A built executable of this package (`musterd`, `musterctl`), next to the test bundle.
    public static func executable(_ name: String) throws -> String {
        let testBinary = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var candidates = [testBinary.deletingLastPathComponent().appendingPathComponent(name).path]
        candidates.append(root + "/.build/debug/\(name)")
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        throw TestSupportError("\(name) is not built (looked in \(candidates.joined(separator: ", "))); run swift build first")
    }
}

/// A failure of the test harness itself.
public struct TestSupportError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
