import Foundation
import Logging
import MusterPQ

#if canImport(Glibc)
    import Glibc
#endif

/// A private PostgreSQL cluster that Muster manages itself: the embedded default when no database URL is given.
///
/// Everything lives under one directory: `pgdata/` (the cluster), `postgres.log`, and the unix socket. The server
/// listens on that socket only (no TCP), which only the cluster's owner (and root) can reach. `start()` runs
/// `initdb` the first time, starts the server, and creates the application database; later starts reuse it.
///
/// PostgreSQL refuses to run as root, so when the current user is root the cluster runs as the `postgres` OS
/// user (created by Debian's `postgresql` package) and the directory is handed to that user.
///
/// All methods block while the PostgreSQL tools run: call them from a thread that may block, not an event loop.
public struct EmbeddedCluster: Sendable {
    /// The directory holding the cluster, its log and its socket (absolute).
    public let directory: String
    /// The name of the superuser and of the application database.
    public let user: String
    public let database: String
    /// The port number, which here only names the socket file (`.s.PGSQL.<port>`).
    public let port: Int
    private let tools: PostgresTools

    /// Whether `start()` launched the server or found it already running (for example under another process).
    public enum StartOutcome: Sendable, Equatable {
        case started
        case alreadyRunning
    }

    /// Prepares to manage a cluster in `directory` (created if needed). Fails when the PostgreSQL server tools
    /// cannot be found.
    public init(directory: String, user: String = "muster", database: String = "muster", port: Int = 5432) throws {
        let absolute = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.directory = absolute
        self.user = user
        self.database = database
        self.port = port
        self.tools = try PostgresTools.locate()
        let socketPath = "\(absolute)/.s.PGSQL.\(port)"
        // sun_path holds 107 bytes plus a NUL on Linux.
        guard socketPath.utf8.count <= 107 else {
            throw ClusterError(
                "the socket path \(socketPath) is longer than the 107 bytes a unix socket allows; "
                    + "choose a shorter data directory")
        }
    }

    /// The cluster's data directory.
    public var dataDirectory: String { "\(directory)/pgdata" }
    /// The server log.
    public var logFile: String { "\(directory)/postgres.log" }

    /// libpq parameters for the application database.
    public var connection: PGConnectionConfiguration {
        PGConnectionConfiguration(parameters: [
            ("host", directory), ("port", String(port)), ("user", user), ("dbname", database),
        ])
    }

    /// Creates the cluster if needed, starts it if it is not running, and creates the application database.
    @discardableResult
    public func start(logger: Logger) throws -> StartOutcome {
        try prepareDirectory()
        if !FileManager.default.fileExists(atPath: "\(dataDirectory)/PG_VERSION") {
            try initialize(logger: logger)
        }
        try writeSettings()
        if isRunning() {
            logger.info("embedded PostgreSQL already running", metadata: ["directory": "\(directory)"])
            try ensureDatabase()
            return .alreadyRunning
        }
        logger.info("starting embedded PostgreSQL", metadata: ["directory": "\(directory)"])
        let result = try tools.run("pg_ctl", ["-D", dataDirectory, "-l", logFile, "-w", "-t", "60", "start"], in: directory)
        guard result.status == 0 else {
            throw ClusterError("pg_ctl start failed (exit \(result.status)): \(result.output)\n\(logTail())")
        }
        try ensureDatabase()
        return .started
    }

    /// Stops the server (fast shutdown: open sessions are ended, the server writes a checkpoint and exits).
    public func stop(logger: Logger) throws {
        guard isRunning() else { return }
        logger.info("stopping embedded PostgreSQL", metadata: ["directory": "\(directory)"])
        let result = try tools.run("pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], in: directory)
        guard result.status == 0 else {
            throw ClusterError("pg_ctl stop failed (exit \(result.status)): \(result.output)")
        }
    }

    /// Stops the server at once, as a crash would (for fault tests).
    public func kill(logger: Logger) throws {
        guard isRunning() else { return }
        logger.info("stopping embedded PostgreSQL immediately", metadata: ["directory": "\(directory)"])
        _ = try tools.run("pg_ctl", ["-D", dataDirectory, "-m", "immediate", "-w", "stop"], in: directory)
    }

    /// Makes this (not yet created) cluster a streaming standby of the running `primary`: a base backup of it,
    /// with the settings that make a server follow it (`pg_basebackup -R`). `start()` then runs it as a hot
    /// standby, read-only and replaying the primary's changes, until `promote(logger:)`.
    ///
    /// The failover rehearsal uses it; an operator's standby on another host is made the same way (`Deploy/BACKUP.md`).
    public func createStandby(of primary: EmbeddedCluster, logger: Logger) throws {
        try prepareDirectory()
        guard !FileManager.default.fileExists(atPath: "\(dataDirectory)/PG_VERSION") else {
            throw ClusterError("\(dataDirectory) already holds a cluster; a standby starts from an empty directory")
        }
        logger.info(
            "copying a base backup for a standby",
            metadata: ["primary": "\(primary.directory)", "directory": "\(dataDirectory)"])
        try makeDataDirectory(running: "pg_basebackup", failure: "pg_basebackup from \(primary.directory) failed") { scratch in
            [
                "-D", scratch, "-h", primary.directory, "-p", String(primary.port), "-U", primary.user,
                "-R", "-X", "stream", "-c", "fast",
            ]
        }
    }

    /// Promotes a running standby to a primary, and returns once it accepts writes.
    public func promote(logger: Logger) throws {
        logger.info("promoting standby", metadata: ["directory": "\(directory)"])
        let result = try tools.run("pg_ctl", ["-D", dataDirectory, "-w", "-t", "60", "promote"], in: directory)
        guard result.status == 0 else {
            throw ClusterError("pg_ctl promote failed (exit \(result.status)): \(result.output)\n\(logTail())")
        }
    }

    /// True when a server is running on this cluster's data directory.
    public func isRunning() -> Bool {
        guard FileManager.default.fileExists(atPath: "\(dataDirectory)/PG_VERSION") else { return false }
        return (try? tools.run("pg_ctl", ["-D", dataDirectory, "status"], in: directory).status) == 0
    }

    // MARK: - Steps

    private func prepareDirectory() throws {
        do {
            try FileManager.default.createDirectory(
                atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw ClusterError("cannot create the data directory \(directory): \(error.localizedDescription)")
        }
        guard let owner = tools.serverUser else { return }
        guard chown(directory, owner.uid, owner.gid) == 0 else {
            throw ClusterError("cannot hand \(directory) to the postgres user: \(String(cString: strerror(errno)))")
        }
        let probe = try tools.run("test", ["-w", directory, "-a", "-x", directory], in: "/")
        guard probe.status == 0 else {
            throw ClusterError(
                "the postgres OS user cannot reach \(directory) (a parent directory is not searchable by it); "
                    + "choose a data directory it can reach, such as /var/lib/muster")
        }
    }

    private func initialize(logger: Logger) throws {
        logger.info("initialising embedded PostgreSQL cluster", metadata: ["directory": "\(dataDirectory)"])
        try makeDataDirectory(running: "initdb", failure: "initdb failed") { scratch in
            ["-D", scratch, "-U", user, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-instructions"]
        } finish: { scratch in
            let config = "\(scratch)/postgresql.conf"
            guard let handle = FileHandle(forWritingAtPath: config) else {
                throw ClusterError("cannot open \(config) to add Muster's settings")
            }
            handle.seekToEndOfFile()
            handle.write(Data("\n# Added by Muster.\ninclude_if_exists = 'muster.conf'\n".utf8))
            try handle.close()
        }
    }

    /// Makes the data directory with `program`, writing into a scratch directory that is moved into place only once
    /// it is complete (and `finish` has adjusted it), so a crash part-way never leaves a half cluster behind.
    private func makeDataDirectory(
        running program: String, failure: String, arguments: (_ scratch: String) -> [String],
        finish: (_ scratch: String) throws -> Void = { _ in }
    ) throws {
        let scratch = "\(directory)/pgdata.\(program)"
        try? FileManager.default.removeItem(atPath: scratch)
        let result = try tools.run(program, arguments(scratch), in: directory)
        guard result.status == 0 else {
            throw ClusterError("\(failure) (exit \(result.status)): \(result.output)")
        }
        try finish(scratch)
        do {
            try FileManager.default.moveItem(atPath: scratch, toPath: dataDirectory)
        } catch {
            throw ClusterError("cannot move the new cluster into place at \(dataDirectory): \(error.localizedDescription)")
        }
    }

    /// Settings rewritten at every start, so a moved directory still works.
    private func writeSettings() throws {
        func quoted(_ value: String) -> String { "'" + value.replacingOccurrences(of: "'", with: "''") + "'" }
        let settings = """
            # Written by Muster at every start; edits are overwritten.
            listen_addresses = ''
            port = \(port)
            unix_socket_directories = \(quoted(directory))
            unix_socket_permissions = 0700
            max_connections = 200
            logging_collector = off

            """
        let path = "\(dataDirectory)/muster.conf"
        do {
            try settings.write(toFile: path, atomically: true, encoding: .utf8)
            if let owner = tools.serverUser { _ = chown(path, owner.uid, owner.gid) }
        } catch {
            throw ClusterError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    private func ensureDatabase() throws {
        guard database.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "_") }),
            database.first?.isLetter == true
        else { throw ClusterError("invalid database name \(database)") }
        let maintenance = try PGConnection.connect(connection.database("postgres"), logger: Logger(label: "muster.cluster"))
        defer { maintenance.close() }
        let existing = try maintenance.query("SELECT 1 FROM pg_database WHERE datname = \(database)")
        if existing.isEmpty {
            // An identifier cannot be a parameter; the name was checked above to be a plain lower-case word.
            do {
                try maintenance.executeScript("CREATE DATABASE \"\(database)\"")
            } catch let error as PGError where error.kind == .uniqueViolation {
                // Created concurrently by another process: fine.
            }
        }
    }

    private func logTail() -> String {
        guard let text = try? String(contentsOfFile: logFile, encoding: .utf8) else { return "" }
        return "last lines of \(logFile):\n" + text.split(separator: "\n").suffix(15).joined(separator: "\n")
    }
}

/// A failure managing the embedded cluster, with a message that says what to do.
public struct ClusterError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
