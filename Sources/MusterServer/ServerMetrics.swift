import CoreMetrics
import Foundation
import Metrics
import MusterPQ
import NIOConcurrencyHelpers
import Prometheus

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

    private struct Instruments {
        var counters: [String: CoreMetrics.Counter] = [:]
        var timers: [String: CoreMetrics.Timer] = [:]
        var totals: [String: CommandTotals] = [:]
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

    /// One command answered: `outcome` is `ok` or the error code.
    func recordCommand(_ name: String, outcome: String, duration: Duration) {
        let key = name + " " + outcome
        let micros = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        let (counter, timer) = instruments.withLockedValue { instruments -> (CoreMetrics.Counter, CoreMetrics.Timer) in
            instruments.totals[name, default: CommandTotals()].count += 1
            if outcome != "ok" { instruments.totals[name, default: CommandTotals()].errors += 1 }
            instruments.totals[name, default: CommandTotals()].totalMicroseconds += micros
            let counter =
                instruments.counters[key]
                ?? CoreMetrics.Counter(label: "muster_commands_total", dimensions: [("command", name), ("outcome", outcome)], factory: factory)
            instruments.counters[key] = counter
            let timer =
                instruments.timers[name]
                ?? CoreMetrics.Timer(label: "muster_command_duration_seconds", dimensions: [("command", name)], factory: factory)
            instruments.timers[name] = timer
            return (counter, timer)
        }
        counter.increment()
        timer.recordNanoseconds(micros * 1000)
        if outcome == "UNAVAILABLE" || outcome == "INTERNAL" { databaseErrors.increment() }
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

    /// Brings the gauges up to date (pool, subscribers, backfill, database, volunteers); returns the volunteer
    /// counts read, or nil when the database could not be asked.
    @discardableResult
    func refresh(_ services: ServerServices) async -> [(state: String, status: String, count: Int)]? {
        let pool = services.pool.statistics
        poolOpen.record(pool.open)
        poolInUse.record(pool.inUse)
        poolWaiting.record(pool.waiting)
        subscribers.record(services.events.subscribers)
        backfillWaiting.record(services.backfill.waiting.count)
        databaseReady.record(services.readiness.isReady ? 1 : 0)
        guard services.readiness.isReady else { return nil }
        let counts = try? await services.pool.withConnection { connection in
            try connection.query(
                "SELECT registering_state AS state, status, count(*)::bigint AS n FROM volunteers GROUP BY 1, 2 ORDER BY 1, 2"
            ).map { row -> (state: String, status: String, count: Int) in
                (try row.decode("state"), try row.decode("status"), Int(try row.decode("n", as: Int64.self)))
            }
        }
        if let counts { recordVolunteers(counts) }
        return counts
    }

    var commandTotals: [String: CommandTotals] { instruments.withLockedValue { $0.totals } }
    var roundsRun: Int { instruments.withLockedValue { $0.rounds } }

    /// The registry in Prometheus text format.
    public func exposition() -> String {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
