import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Finds the PostgreSQL server programs and runs them, as the `postgres` OS user when we are root.
struct PostgresTools: Sendable {
    struct ServerUser: Sendable {
        let uid: uid_t
        let gid: gid_t
    }

    /// The directory holding `initdb` and `pg_ctl`.
    let binDirectory: String
    /// Set when we are root: the account the server must run as.
    let serverUser: ServerUser?

    static func locate() throws -> PostgresTools {
        let serverUser = try rootServerUser()
        let environment = ProcessInfo.processInfo.environment
        if let configured = environment["MUSTER_PG_BINDIR"], !configured.isEmpty {
            guard FileManager.default.isExecutableFile(atPath: "\(configured)/initdb") else {
                throw ClusterError("MUSTER_PG_BINDIR=\(configured) has no initdb")
            }
            return PostgresTools(binDirectory: configured, serverUser: serverUser)
        }
        // Debian keeps the server programs out of PATH, one directory per major version; take the newest.
        let debianRoot = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: debianRoot)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions where FileManager.default.isExecutableFile(atPath: "\(debianRoot)/\(version)/bin/initdb") {
            return PostgresTools(binDirectory: "\(debianRoot)/\(version)/bin", serverUser: serverUser)
        }
        for directory in (environment["PATH"] ?? "").split(separator: ":")
        where FileManager.default.isExecutableFile(atPath: "\(directory)/initdb") {
            return PostgresTools(binDirectory: String(directory), serverUser: serverUser)
        }
        throw ClusterError(
            "PostgreSQL server programs (initdb, pg_ctl) not found; install them with "
                + "`apt-get install -y postgresql postgresql-contrib`, set MUSTER_PG_BINDIR, "
                + "or give a database URL (--database-url / MUSTER_DATABASE_URL)")
    }

    private static func rootServerUser() throws -> ServerUser? {
        guard getuid() == 0 else { return nil }
        guard let entry = getpwnam("postgres") else {
            throw ClusterError(
                "running as root, but there is no `postgres` OS user to run PostgreSQL as "
                    + "(PostgreSQL refuses to run as root); install the postgresql package, which creates it")
        }
        return ServerUser(uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid)
    }

    struct Result {
        let status: Int32
        let output: String
    }

    /// Runs a PostgreSQL program (or, for `test`, the shell utility) and collects its output.
    func run(_ program: String, _ arguments: [String], in workingDirectory: String) throws -> Result {
        let path = program == "test" ? "/usr/bin/test" : "\(binDirectory)/\(program)"
        // `env -C` sets the working directory (one the server's user can enter); runuser (util-linux) switches to
        // the postgres user without PAM prompts. Both exist on every Debian system.
        let command = ["/usr/bin/env", "-C", workingDirectory, path] + arguments
        let argv: [String] = serverUser != nil ? ["/usr/sbin/runuser", "-u", "postgres", "--"] + command : command
        let (status, output) = try ChildProcess.run(argv)
        return Result(status: status, output: output)
    }
}
