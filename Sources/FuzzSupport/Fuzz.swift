import FuzzDriver

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// The glue shared by the fuzz targets (`Sources/Fuzz*`, run by `Deploy/fuzz.sh`).
///
/// Each target's `main.swift` ends with `Fuzz.main { bytes in … }`. Built with `-sanitize=fuzzer` the process is
/// libFuzzer, calling the closure with each generated input (the target keeps its own `main`, which SwiftPM requires
/// of an executable, and hands over to libFuzzer's driver; see FuzzDriver.c). In an ordinary build (`swift build`) the same executable
/// replays inputs instead: every file named on the command line, and every file in a directory named there, is
/// passed to `harness` once, so a crash input can be rerun under a debugger without the sanitizers:
///
///     .build/debug/FuzzRulePack Tests/FuzzCorpus/FuzzRulePack crash-1234
///
/// A harness reports a broken invariant with `precondition` (kept in every build configuration); any trap is a
/// crash to libFuzzer, which saves the input.
public enum Fuzz {
    /// Runs `harness` under libFuzzer, or over the files named in the arguments; never returns.
    public static func main(_ harness: @escaping (UnsafeRawBufferPointer) -> Void) -> Never {
        current = harness
        if fuzz_driver_available() != 0 {
            var argc = CommandLine.argc
            var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
            exit(fuzz_driver_run(&argc, &argv) { data, size in
                LLVMFuzzerTestOneInput(data, size)
            })
        }
        exit(replay(Array(CommandLine.arguments.dropFirst()), harness))
    }

    nonisolated(unsafe) static var current: ((UnsafeRawBufferPointer) -> Void)?

    static func replay(_ arguments: [String], _ harness: (UnsafeRawBufferPointer) -> Void) -> Int32 {
        let name = CommandLine.arguments.first.map { String($0.split(separator: "/").last ?? "") } ?? "fuzz"
        if arguments.isEmpty || arguments.contains(where: { $0.hasPrefix("-") }) {
            printError("""
                usage: \(name) FILE-OR-DIRECTORY...
                This build has no libFuzzer; it runs each input once. To fuzz, build with -sanitize=fuzzer (Deploy/fuzz.sh).
                """)
            return 2
        }
        var count = 0
        for argument in arguments {
            for path in files(argument) {
                guard let bytes = readFile(path) else {
                    printError("\(name): cannot read \(path)")
                    return 1
                }
                bytes.withUnsafeBytes { harness($0) }
                count += 1
            }
        }
        print("\(name): \(count) input(s) ran without a failure")
        return 0
    }

    static func printError(_ message: String) {
        let line = Array((message + "\n").utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    /// `path` itself, or the files directly in it (sorted, without subdirectories) when it is a directory.
    static func files(_ path: String) -> [String] {
        guard isDirectory(path), let directory = opendir(path) else { return [path] }
        defer { closedir(directory) }
        var paths: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            let full = path.hasSuffix("/") ? path + name : path + "/" + name
            if !name.hasPrefix("."), !isDirectory(full) { paths.append(full) }
        }
        return paths.sorted()
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func readFile(_ path: String) -> [UInt8]? {
        guard let file = fopen(path, "rb") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let read = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
            if read == 0 { break }
            bytes.append(contentsOf: chunk[0..<read])
        }
        return ferror(file) == 0 ? bytes : nil
    }
}

/// libFuzzer's per-input entry point. libFuzzer's own `main` (linked in whole with `-sanitize=fuzzer`, though never
/// the entry point here) refers to it, so it is defined in every build.
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    Fuzz.current?(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

/// Structured choices taken from the front of an input (like libFuzzer's FuzzedDataProvider), plus a
/// deterministic generator seeded from it, so that a saved input always replays the same way.
public struct FuzzInput {
    public private(set) var bytes: ArraySlice<UInt8>

    public init(_ raw: UnsafeRawBufferPointer) { bytes = ArraySlice(raw) }

    /// The next byte, or 0 when the input is used up.
    public mutating func byte() -> UInt8 {
        guard let first = bytes.first else { return 0 }
        bytes = bytes.dropFirst()
        return first
    }

    /// A 64-bit value from the next eight bytes (zeros past the end).
    public mutating func word() -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<8 { value = value << 8 | UInt64(byte()) }
        return value
    }

    /// Whatever is left.
    public mutating func rest() -> [UInt8] {
        defer { bytes = [] }
        return Array(bytes)
    }
}

/// SplitMix64: a small, fast, deterministic generator.
public struct SplitMix: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// JSON text for the harnesses that rebuild their input as JSON.
public enum FuzzJSON {
    /// `text` as a JSON string literal: quotes, backslashes and control characters escaped, everything else as is.
    public static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
