import CoreMetrics
import Foundation
import Metrics
import MusterPQ
import NIOConcurrencyHelpers
import Prometheus
import Synchronization

/// The daemon's measurements, kept two ways: as swift-metrics instruments on a Prometheus registry (scraped from
/// the metrics port), and as plain totals for `STATS`.
///
/// Each daemon has its own registry (no global bootstrap), so several servers in one process (tests) do not mix.
public final class ServerMetrics: Sendable {
    /// What Prometheus scrapes.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    let started = ContinuousClock.now
    let startedAt = Date()

    struct CommandTotals: Encodable {
        var count = 0
        var errors = 0
        var totalMicroseconds: Int64 = 0
    }

    /// One command's instruments. A connection keeps the ones it has used, so answering a command takes no lock
    /// and builds no key: the `ok` counter, the timer and the totals are ready, and only error outcomes are looked
    /// up (under a lock of their own).
    final class CommandInstruments: Sendable {
        let name: String
        let ok: CoreMetrics.Counter
        let timer: CoreMetrics.Timer
        private let failures = NIOLockedValueBox([String: CoreMetrics.Counter]())
        private let factory: PrometheusMetricsFactory
        let count = Atomic<Int>(0)
        let errors = Atomic<Int>(0)
        let totalMicroseconds = Atomic<Int64>(0)

        init(name: String, factory: PrometheusMetricsFactory) {
            self.name = name
            self.factory = factory
            ok = CoreMetrics.Counter(label: "muster_commands_total", dimensions: [("command", name), ("outcome", "ok")], factory: factory)
            timer = CoreMetrics.Timer(label: "muster_command_duration_seconds", dimensions: [("command", name)], factory: factory)
        }

        func failure(_ outcome: String) -> CoreMetrics.Counter {
            failures.withLockedValue { failures in
                if let counter = failures[outcome] { return counter }
                let counter = CoreMetrics.Counter(
                    label: "muster_commands_total", dimensions: [("command", name), ("outcome", outcome)], factory: factory)
                failures[outcome] = counter
                return counter
            }
        }

        var totals: CommandTotals {
            CommandTotals(
                count: count.load(ordering: .relaxed), errors: errors.load(ordering: .relaxed),
                totalMicroseconds: totalMicroseconds.load(ordering: .relaxed))
        }
    }

    private struct Instruments {
        var commands: [String: CommandInstruments] = [:]
        var rounds = 0
    }

    private let instruments = NIOLockedValueBox(Instruments())
    private let connectionsOpened: CoreMetrics.Counter
    private let connectionsRefused: CoreMetrics.Counter
    private let databaseErrors: CoreMetrics.Counter
    let connections: CoreMetrics.Gauge
    let poolOpen: CoreMetrics.Gauge
    let poolInUse: CoreMetrics.Gauge
    let poolWaiting: CoreMetrics.Gauge
    let subscribers: CoreMetrics.Gauge
    let backfillWaiting: CoreMetrics.Gauge
    let databaseReady: CoreMetrics.Gauge
    private let registrationBatchSizes: CoreMetrics.Recorder

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Command latencies from 100 µs to 30 s.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2),
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
            .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30),
        ]
        // Registrations per group commit, 1 to 256.
        factory.defaultValueHistogramBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256]
        self.registry = registry
        self.factory = factory
        connectionsOpened = CoreMetrics.Counter(label: "muster_connections_opened_total", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "muster_connections_refused_total", factory: factory)
        databaseErrors = CoreMetrics.Counter(label: "muster_database_errors_total", factory: factory)
        connections = CoreMetrics.Gauge(label: "muster_connections", factory: factory)
        poolOpen = CoreMetrics.Gauge(label: "muster_pool_connections", dimensions: [("state", "open")], factory: factory)
        poolInUse = CoreMetrics.Gauge(label: "muster_pool_connections", dimensions: [("state", "in_use")], factory: factory)
        poolWaiting = CoreMetrics.Gauge(label: "muster_pool_waiting", factory: factory)
        subscribers = CoreMetrics.Gauge(label: "muster_event_subscribers", factory: factory)
        backfillWaiting = CoreMetrics.Gauge(label: "muster_backfill_states_waiting", factory: factory)
        databaseReady = CoreMetrics.Gauge(label: "muster_database_ready", factory: factory)
        registrationBatchSizes = CoreMetrics.Recorder(label: "muster_registration_batch_size", factory: factory)
    }

    /// One group commit of registrations ran with `size` of them.
    func recordRegistrationBatch(size: Int) {
        registrationBatchSizes.record(size)
    }

    /// The counter of report and search reads served by `database` (`replica` or `primary`).
    func reportReads(from database: String) -> CoreMetrics.Counter {
        CoreMetrics.Counter(label: "muster_report_reads_total", dimensions: [("database", database)], factory: factory)
    }

    /// The instruments of one command (made on first use); callers may keep them.
    func instruments(for name: String) -> CommandInstruments {
        instruments.withLockedValue { instruments in
            if let existing = instruments.commands[name] { return existing }
            let made = CommandInstruments(name: name, factory: factory)
            instruments.commands[name] = made
            return made
        }
    }

    /// One command answered (`outcome`: `ok` or the error code), with its instruments at hand; no lock unless the
    /// outcome is an error.
    func recordCommand(_ command: CommandInstruments, outcome: String, duration: Duration) {
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        command.count.add(1, ordering: .relaxed)
        command.totalMicroseconds.add(micros, ordering: .relaxed)
        if outcome == "ok" {
            command.ok.increment()
        } else {
            command.errors.add(1, ordering: .relaxed)
            command.failure(outcome).increment()
            if outcome == "UNAVAILABLE" || outcome == "INTERNAL" { databaseErrors.increment() }
        }
        command.timer.recordNanoseconds(micros * 1000)
    }

    private let connectionCounts = NIOLockedValueBox((open: 0, opened: 0, refused: 0))

    func connectionOpened() {
        connectionsOpened.increment()
        let open = connectionCounts.withLockedValue { counts -> Int in
            counts.open += 1
            counts.opened += 1
            return counts.open
        }
        connections.record(open)
    }

    func connectionClosed() {
        let open = connectionCounts.withLockedValue { counts -> Int in
            counts.open -= 1
            return counts.open
        }
        connections.record(open)
    }

    func connectionRefused() {
        connectionsRefused.increment()
        connectionCounts.withLockedValue { $0.refused += 1 }
    }

    /// Client connections: open now, opened since start, refused since start.
    var connectionTotals: (open: Int, opened: Int, refused: Int) { connectionCounts.withLockedValue { $0 } }

    /// One matching round finished.
    func recordRound(state: String, kind: String, offers: Int, duration: Duration) {
        instruments.withLockedValue { $0.rounds += 1 }
        CoreMetrics.Counter(label: "muster_match_rounds_total", dimensions: [("kind", kind)], factory: factory).increment()
        CoreMetrics.Counter(label: "muster_match_offers_total", dimensions: [("state", state)], factory: factory).increment(by: offers)
        CoreMetrics.Timer(label: "muster_match_round_duration_seconds", dimensions: [("kind", kind)], factory: factory).record(duration: duration)
    }

    private let volunteerKeys = NIOLockedValueBox(Set<[String]>())

    /// Sets the gauges of volunteers per state and status; pairs seen before and now absent drop to 0.
    func recordVolunteers(_ counts: [(state: String, status: String, count: Int)]) {
        let now = Set(counts.map { [$0.state, $0.status] })
        let gone = volunteerKeys.withLockedValue { keys -> Set<[String]> in
            defer { keys = now }
            return keys.subtracting(now)
        }
        for key in gone {
            CoreMetrics.Gauge(label: "muster_volunteers", dimensions: [("state", key[0]), ("status", key[1])], factory: factory).record(0)
        }
        for entry in counts {
            CoreMetrics.Gauge(label: "muster_volunteers", dimensions: [("state", entry.state), ("status", entry.status)], factory: factory)
                .record(entry.count)
        }
    }

    /// What `refresh` read from the database.
    struct DatabaseReading {
        let volunteers: [(state: String, status: String, count: Int)]
        /// The server answering (`host:port`): after a failover, the new primary.
        let server: String?
        /// Where the replica is and how far behind; nil without a serving replica.
        let replica: ReportDatabase.ReplicaReading?
    }

    /// Brings the gauges up to date (pool, subscribers, backfill, database, replica, volunteers); returns what it
    /// read from the database, or nil when the database could not be asked.
    @discardableResult
    func refresh(_ services: ServerServices) async -> DatabaseReading? {
        let pool = services.pool.statistics
        poolOpen.record(pool.open)
        poolInUse.record(pool.inUse)
        poolWaiting.record(pool.waiting)
        subscribers.record(services.events.subscribers)
        backfillWaiting.record(services.backfill.waiting.count)
        databaseReady.record(services.readiness.isReady ? 1 : 0)
        // The replica's gauges exist only when musterd has a replica.
        let reports = services.reports
        let hasReplica = reports.replica != nil
        if hasReplica {
            CoreMetrics.Gauge(label: "muster_replica_serving", factory: factory).record(reports.replicaState == .serving ? 1 : 0)
        }
        guard services.readiness.isReady else { return nil }
        let replica = await reports.replicaReading()
        // The last lag measured stays while the replica is not serving (`muster_replica_serving` 0).
        if hasReplica, let lag = replica?.lagBytes {
            CoreMetrics.Gauge(label: "muster_replica_lag_bytes", factory: factory).record(lag)
        }
        let reading = try? await services.pool.withConnection { connection in
            DatabaseReading(
                volunteers: try connection.query(
                    "SELECT registering_state AS state, status, count(*)::bigint AS n FROM volunteers GROUP BY 1, 2 ORDER BY 1, 2"
                ).map { row -> (state: String, status: String, count: Int) in
                    (try row.decode("state"), try row.decode("status"), Int(try row.decode("n", as: Int64.self)))
                },
                server: connection.serverAddress, replica: replica)
        }
        if let reading { recordVolunteers(reading.volunteers) }
        return reading
    }

    var commandTotals: [String: CommandTotals] {
        instruments.withLockedValue { $0.commands }.compactMapValues { command in
            let totals = command.totals
            return totals.count == 0 ? nil : totals
        }
    }
    var roundsRun: Int { instruments.withLockedValue { $0.rounds } }

    /// The registry in Prometheus text format.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
