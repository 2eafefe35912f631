import CLibPQ
import Logging
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One libpq connection. Every method blocks its caller until the server answers.
///
/// Never call it from a SwiftNIO event loop or an async task directly: lease it from a `PGPool`, which runs the
/// work on the pool's own threads. Debug builds trap if a blocking call runs on an event loop.
///
/// `@unchecked Sendable`: libpq allows a connection to move between threads but not to be used by two at once.
/// The pool hands each connection to one lease at a time, which is what makes this sound.
public final class PGConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private let logger: Logger
    private let noticeContext: Unmanaged<NoticeContext>
    private var preparedStatements: [String: String] = [:]
    /// The planning mode the session's setting is in; nil when unknown (after a rollback, which undoes a setting
    /// made in its transaction).
    private var sessionPlanning: PGPlanning? = .automatic
    /// False once a pipeline could not be ended: the connection is still in pipeline mode, where nothing else we
    /// send can run, so it must not be used again.
    private var reusable = true
    /// How many distinct statements a connection prepares before falling back to unnamed ones.
    static let preparedStatementLimit = 512

    private final class NoticeContext {
        let logger: Logger
        init(logger: Logger) { self.logger = logger }
    }

    private init(handle: OpaquePointer, logger: Logger) {
        self.handle = handle
        self.logger = logger
        self.noticeContext = Unmanaged.passRetained(NoticeContext(logger: logger))
        PQsetNoticeReceiver(
            handle,
            { context, result in
                guard let context, let result else { return }
                let box = Unmanaged<NoticeContext>.fromOpaque(context).takeUnretainedValue()
                let severity = PQresultErrorField(result, CLIBPQ_DIAG_SEVERITY_NONLOCALIZED).map { String(cString: $0) }
                let message = PQresultErrorField(result, CLIBPQ_DIAG_MESSAGE_PRIMARY).map { String(cString: $0) }
                box.logger.debug(
                    "postgres notice", metadata: ["severity": "\(severity ?? "?")", "message": "\(message ?? "")"])
            },
            noticeContext.toOpaque()
        )
    }

    deinit {
        if let handle { PQfinish(handle) }
        noticeContext.release()
    }

    /// Opens a connection, blocking until it is established or fails.
    public static func connect(_ configuration: PGConnectionConfiguration, logger: Logger) throws -> PGConnection {
        assertNotOnEventLoop()
        let keywords = try configuration.connectKeywords()
        let handle = withCStringArray(keywords.map(\.key)) { keys in
            withCStringArray(keywords.map(\.value)) { values in
                PQconnectdbParams(keys, values, 0)
            }
        }
        guard let handle else {
            throw PGError(.connectionFailed, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
            PQfinish(handle)
            throw PGError(.connectionFailed, message: message)
        }
        return PGConnection(handle: handle, logger: logger)
    }

    /// False once the connection has broken (or was left unusable); the pool then discards it.
    public var isHealthy: Bool {
        guard let handle, reusable else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// Reads, without waiting, whatever the server sent while the connection sat idle, and says whether it is still
    /// open: false when the server has closed it (restarted, crashed, failed over, or ended an idle session) or
    /// the network has (keep-alives went unanswered). The pool asks before lending a connection, so a connection
    /// that died while idle is replaced rather than failing the first command after an outage.
    func isStillOpen() -> Bool {
        guard isHealthy, let handle else { return false }
        readWhatArrived(handle)
        return isHealthy
    }

    /// The server this connection reached, as `host:port` (for a unix socket, its directory): with several hosts in
    /// the URL, the one libpq settled on, which after a failover is the new primary.
    public var serverAddress: String? {
        guard let handle, let host = PQhost(handle), let port = PQport(handle) else { return nil }
        return "\(String(cString: host)):\(String(cString: port))"
    }

    /// True when no transaction is open on the connection.
    public var isIdle: Bool {
        guard let handle else { return false }
        return PQtransactionStatus(handle) == PQTRANS_IDLE
    }

    /// The server process id serving this connection.
    public var backendPID: Int32 {
        guard let handle else { return 0 }
        return PQbackendPID(handle)
    }

    /// The live libpq handle, for extensions in this module.
    func rawHandle() throws -> OpaquePointer {
        guard let handle else { throw PGError(.connectionLost, message: "connection is closed") }
        return handle
    }

    /// Closes the connection; later calls fail with `connectionLost`.
    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
    }

    // MARK: - Statements

    /// Runs one statement with its parameters and returns its rows.
    @discardableResult
    public func query(_ query: PGQuery) throws -> PGRows {
        assertNotOnEventLoop()
        guard let handle else { throw PGError(.connectionLost, message: "connection is closed") }
        for (index, bind) in query.binds.enumerated() where bind?.utf8.contains(0) == true {
            throw PGError(.client, message: "parameter $\(index + 1) contains a NUL byte")
        }
        try usePlanning(query.planning)
        let result: OpaquePointer?
        if let name = try preparedName(for: query.sql, paramCount: query.binds.count, handle: handle) {
            result = withCStringArray(query.binds) { values in
                PQexecPrepared(handle, name, Int32(query.binds.count), values, nil, nil, 0)
            }
        } else {
            result = withCStringArray(query.binds) { values in
                PQexecParams(handle, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
            }
        }
        return try consume(result, handle: handle)
    }

    /// Runs several statements in one round trip (libpq pipeline mode) and returns each one's rows, in order.
    ///
    /// The server runs them one after another, as if sent one by one, but the client waits for the network (and
    /// the server for the client) once instead of once per statement. The first statement that fails is thrown;
    /// those after it did not run. Inside a transaction, the transaction is then aborted, as with `query`; outside
    /// one, the whole pipeline is one implicit transaction, so nothing of it stays.
    ///
    /// The statements are planned in the mode every one of them asks for, else as `.automatic`; a statement in the
    /// pipeline may set another mode for those after it (`PGPlanning.localSetting`).
    public func pipeline(_ queries: [PGQuery]) throws -> [PGRows] {
        assertNotOnEventLoop()
        guard let handle else { throw PGError(.connectionLost, message: "connection is closed") }
        guard queries.count > 1 else { return try queries.map { try query($0) } }
        for query in queries {
            for (index, bind) in query.binds.enumerated() where bind?.utf8.contains(0) == true {
                throw PGError(.client, message: "parameter $\(index + 1) contains a NUL byte")
            }
        }
        // The planning mode is set, and statements are prepared (once per connection), before the pipeline starts.
        let modes = Set(queries.map(\.planning))
        try usePlanning(modes.count == 1 ? modes.first! : .automatic)
        let names = try queries.map { try preparedName(for: $0.sql, paramCount: $0.binds.count, handle: handle) }
        guard PQenterPipelineMode(handle) == 1 else { throw lostOrClientError(handle) }
        var sent = 0
        var failure: (any Error)?
        for (query, name) in zip(queries, names) {
            let accepted = withCStringArray(query.binds) { values -> Int32 in
                if let name { return PQsendQueryPrepared(handle, name, Int32(query.binds.count), values, nil, nil, 0) }
                return PQsendQueryParams(handle, query.sql, Int32(query.binds.count), nil, values, nil, nil, 0)
            }
            guard accepted == 1 else {
                failure = lostOrClientError(handle)
                break
            }
            sent += 1
        }
        if PQpipelineSync(handle) != 1 {
            failure = failure ?? lostOrClientError(handle)
        }
        // Each statement sent has its result, then a null; the sync point ends the pipeline.
        var results: [PGRows] = []
        results.reserveCapacity(sent)
        for _ in 0..<sent {
            guard let result = PQgetResult(handle) else {
                failure = failure ?? lostOrClientError(handle)
                break
            }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do {
                    results.append(try consume(result, handle: handle))
                } catch {
                    failure = failure ?? error
                }
            }
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { break }
        }
        if PQexitPipelineMode(handle) != 1 {
            // The sync point never came back (the server went away mid-pipeline): the connection is stuck in
            // pipeline mode, and every later statement on it would fail.
            reusable = false
            failure = failure ?? lostOrClientError(handle)
        }
        if let failure { throw failure }
        return results
    }

    /// Runs one or more statements given as plain SQL text, with no parameters (simple query protocol).
    ///
    /// For trusted SQL only: migration files and fixed maintenance statements. Never pass input into it.
    public func executeScript(_ sql: String) throws {
        assertNotOnEventLoop()
        guard let handle else { throw PGError(.connectionLost, message: "connection is closed") }
        guard let result = PQexec(handle, sql) else { throw lostOrClientError(handle) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default: throw error(from: result, handle: handle)
        }
    }

    /// Runs `body` inside `BEGIN … COMMIT`; any error rolls back and is rethrown.
    public func transaction<T>(
        isolation: PGIsolationLevel = .readCommitted, _ body: (PGConnection) throws -> T
    ) throws -> T {
        try executeScript("BEGIN ISOLATION LEVEL \(isolation.sql)")
        do {
            let value = try body(self)
            if let handle, PQtransactionStatus(handle) == PQTRANS_INERROR {
                // A statement failed and its error was swallowed; COMMIT would silently roll back.
                throw PGError(.client, message: "transaction is aborted; refusing to report it committed")
            }
            try executeScript("COMMIT")
            return value
        } catch {
            if isHealthy, !isIdle { try? executeScript("ROLLBACK") }
            // A rollback also undoes a planning setting made in the transaction.
            sessionPlanning = nil
            throw error
        }
    }

    // MARK: - Internals

    /// Puts the session's planning setting in `planning`'s mode, unless it is in it already: one round trip on a
    /// change, nothing otherwise. A connection mostly runs one kind of statement after another.
    private func usePlanning(_ planning: PGPlanning) throws {
        guard sessionPlanning != planning else { return }
        sessionPlanning = nil
        try executeScript(planning.settingSQL)
        sessionPlanning = planning
    }

    private func preparedName(for sql: String, paramCount: Int, handle: OpaquePointer) throws -> String? {
        if let name = preparedStatements[sql] { return name }
        guard preparedStatements.count < Self.preparedStatementLimit else { return nil }
        let name = "muster_\(preparedStatements.count)"
        let result = PQprepare(handle, name, sql, Int32(paramCount), nil)
        _ = try consume(result, handle: handle)
        preparedStatements[sql] = name
        return name
    }

    private func consume(_ result: OpaquePointer?, handle: OpaquePointer) throws -> PGRows {
        guard let result else { throw lostOrClientError(handle) }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK:
            return .command(affectedRows: Int(String(cString: PQcmdTuples(result))) ?? 0)
        case PGRES_TUPLES_OK:
            let rowCount = Int(PQntuples(result))
            let columnCount = Int(PQnfields(result))
            var columns: [String] = []
            columns.reserveCapacity(columnCount)
            for column in 0..<columnCount { columns.append(String(cString: PQfname(result, Int32(column)))) }
            var values: [String?] = []
            values.reserveCapacity(rowCount * columnCount)
            for row in 0..<Int32(rowCount) {
                for column in 0..<Int32(columnCount) {
                    if PQgetisnull(result, row, column) == 1 {
                        values.append(nil)
                    } else {
                        values.append(String(cString: PQgetvalue(result, row, column)))
                    }
                }
            }
            return PGRows(columns: columns, values: values, affectedRows: rowCount)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            throw error(from: result, handle: handle)
        default:
            throw PGError(.client, message: "unexpected result status \(String(cString: PQresStatus(PQresultStatus(result))))")
        }
    }

    private func error(from result: OpaquePointer, handle: OpaquePointer) -> PGError {
        func field(_ code: Int32) -> String? {
            PQresultErrorField(result, code).map { String(cString: $0) }
        }
        let message = field(CLIBPQ_DIAG_MESSAGE_PRIMARY)
            ?? String(cString: PQresultErrorMessage(result)).trimmingTrailingWhitespace()
        guard let state = field(CLIBPQ_DIAG_SQLSTATE) else {
            // No SQLSTATE: libpq made this error itself. A dead connection is the usual cause.
            return isGone(handle) ? PGError(.connectionLost, message: message) : PGError(.client, message: message)
        }
        return PGError(
            PGError.kind(forSQLState: state), message: message, sqlState: state,
            detail: field(CLIBPQ_DIAG_MESSAGE_DETAIL), hint: field(CLIBPQ_DIAG_MESSAGE_HINT),
            constraint: field(CLIBPQ_DIAG_CONSTRAINT_NAME))
    }

    private func lostOrClientError(_ handle: OpaquePointer) -> PGError {
        let message = String(cString: PQerrorMessage(handle)).trimmingTrailingWhitespace()
        return isGone(handle) ? PGError(.connectionLost, message: message) : PGError(.client, message: message)
    }

    /// Whether the server has gone, asked after libpq reported an error of its own.
    ///
    /// libpq (15) may report "server closed the connection unexpectedly" while `PQstatus` still says the
    /// connection is fine: it found out by failing to send to a server that had crashed, and marks the connection
    /// bad only when it next reads. Reading what has arrived (`PQconsumeInput`, which never waits) settles it, so
    /// the error is a lost connection and the pool discards it, rather than a client error on a connection kept.
    private func isGone(_ handle: OpaquePointer) -> Bool {
        readWhatArrived(handle)
        return PQstatus(handle) != CONNECTION_OK
    }

    /// Lets libpq read what is waiting on the socket, without waiting for more (`PQconsumeInput` while `poll` says
    /// there is something). A crashed server leaves a warning notice and then the end of the stream: libpq reads
    /// one per call, and marks the connection bad only on reaching the end.
    private func readWhatArrived(_ handle: OpaquePointer) {
        let socket = PQsocket(handle)
        guard socket >= 0 else { return }
        for _ in 0..<8 where PQstatus(handle) == CONNECTION_OK {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 0) > 0, PQconsumeInput(handle) == 1 else { return }
        }
    }
}

/// Transaction isolation levels.
public enum PGIsolationLevel: Sendable {
    case readCommitted, repeatableRead, serializable

    var sql: String {
        switch self {
        case .readCommitted: return "READ COMMITTED"
        case .repeatableRead: return "REPEATABLE READ"
        case .serializable: return "SERIALIZABLE"
        }
    }
}

/// Traps in debug builds when a blocking libpq call is about to run on a SwiftNIO event loop thread.
@inline(__always)
func assertNotOnEventLoop(file: StaticString = #fileID, line: UInt = #line) {
    assert(MultiThreadedEventLoopGroup.currentEventLoop == nil, "blocking libpq call on an event loop", file: file, line: line)
}

/// Calls `body` with a C array of NUL-terminated strings (nil entries stay NULL), valid only during the call.
func withCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    if strings.isEmpty { return body(nil) }
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } }
    defer { for copy in copies { free(copy) } }
    var pointers: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
    pointers.append(nil)  // PQconnectdbParams wants a NULL-terminated list.
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    withCStringArray(strings.map { Optional($0) }, body)
}

extension String {
    func trimmingTrailingWhitespace() -> String {
        var text = Substring(self)
        while let last = text.last, last.isWhitespace { text = text.dropLast() }
        return String(text)
    }
}
