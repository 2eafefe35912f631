import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Starts programs with `posix_spawn` and reaps them with `waitpid`.
///
/// Not Foundation's `Process`: `pg_ctl start` leaves the server running with the descriptors it inherited, and
/// `Process` notices a child's exit through a descriptor such a grandchild keeps open, so it would wait until the
/// server stops.
public struct ChildProcess: Sendable {
    /// The child's process id.
    public let pid: pid_t

    /// Starts `argv[0]` (an absolute path) with `argv`, stdin from /dev/null and stdout+stderr appended to
    /// `outputPath`, in the current environment plus `environment`.
    public static func spawn(_ argv: [String], outputPath: String, environment: [String: String] = [:]) throws -> ChildProcess {
        let descriptor = open(outputPath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw ClusterError("cannot open \(outputPath): \(String(cString: strerror(errno)))")
        }
        defer { close(descriptor) }
        return try spawn(argv, outputDescriptor: descriptor, environment: environment)
    }

    /// Runs a program to completion and returns its exit status and its combined output.
    public static func run(_ argv: [String]) throws -> (status: Int32, output: String) {
        var template = Array("/tmp/muster-child-XXXXXX".utf8CString)
        let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard descriptor >= 0 else { throw ClusterError("cannot create a temporary file for \(argv[0])'s output") }
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer {
            close(descriptor)
            unlink(path)
        }
        // Only the dup2'ed copies (stdout, stderr) reach the child; the original closes on exec.
        _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
        let child = try spawn(argv, outputDescriptor: descriptor, environment: [:])
        let status = try child.wait()
        let data = FileManager.default.contents(atPath: path) ?? Data()
        return (status, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    private static func spawn(_ argv: [String], outputDescriptor: Int32, environment: [String: String]) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, outputDescriptor, 2)

        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let cEnvironment = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let cArguments = argv.map { strdup($0) } + [nil]
        defer {
            for argument in cArguments { free(argument) }
            for variable in cEnvironment { free(variable) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, cEnvironment)
        guard spawned == 0 else {
            throw ClusterError("cannot run \(argv[0]): \(String(cString: strerror(spawned)))")
        }
        return ChildProcess(pid: pid)
    }

    /// Waits for the child to end; returns its exit status, or 128 + the signal that ended it.
    public func wait() throws -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw ClusterError("waiting for process \(pid) failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG, spelled out (the macros are not imported).
        return (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
    }

    /// Sends a signal to the child.
    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }
}
