import Foundation
import MusterCore

/// `STATS`: the essentials an operator wants at a terminal, the same figures the metrics port exports.
enum StatsCommand {
    struct Stats: Encodable {
        struct Database: Encodable {
            let ready: Bool
            let reason: String?
            /// The server answering (`host:port`), null when it could not be asked.
            let server: String?
            let poolOpen: Int
            let poolInUse: Int
            let poolWaiting: Int
            let poolMax: Int
            /// The reports' replica; null when musterd has none.
            @ExplicitNull var replica: Replica?
        }

        /// Where reports and searches read, and how far behind.
        struct Replica: Encodable {
            /// `serving`, `checking` (not yet checked, or due to be checked again), `passed over` (failed, or fell
            /// too far behind, lately: reads go to the primary) or `refused` (not a copy of the primary, or not
            /// checkable: never used).
            let state: String
            /// The replica server answering (`host:port`), null when not serving.
            let server: String?
            /// Why it is passed over or refused.
            let reason: String?
            /// Bytes of the primary's WAL it has yet to replay, null when not serving or not replaying.
            let lagBytes: Int64?
            let poolOpen: Int
            let poolMax: Int
            /// Reads served by the replica and, while it could not serve them, by the primary.
            let readsFromReplica: Int
            let readsFromPrimary: Int
        }

        struct Connections: Encodable {
            let open: Int
            let opened: Int
            let refused: Int
        }

        struct CommandStats: Encodable {
            let count: Int
            let errors: Int
            let meanMs: Double
        }

        let server: String
        let version: String
        let startedAt: Date
        let uptimeSeconds: Int
        let database: Database
        let connections: Connections
        let commands: [String: CommandStats]
        let eventSubscribers: Int
        let eventsPublished: Int
        let matchRounds: Int
        let backfillWaiting: [String]
        let volunteersByStatus: [String: Int]?
    }

    static let command = Command(
        name: "STATS", usage: "STATS",
        summary: "Uptime, database and pool, connections, commands (count, errors, mean latency), events, rounds, volunteers.",
        access: .roles([.admin]),
        body: .async { _, context in
            let services = context.services
            let metrics = services.metrics
            let reading = await metrics.refresh(services)
            var byStatus: [String: Int]?
            if let reading {
                byStatus = [:]
                for entry in reading.volunteers { byStatus![entry.status, default: 0] += entry.count }
            }
            let pool = services.pool.statistics
            var replica: Stats.Replica?
            if let replicaPool = services.reports.replica {
                let (state, reason): (String, String?) =
                    switch services.reports.replicaState {
                    case .unchecked: ("checking", nil)
                    case .serving: ("serving", nil)
                    case .passedOver(let until, let reason): (ContinuousClock.now < until ? "passed over" : "checking", reason)
                    case .refused(let reason): ("refused", reason)
                    }
                let reads = services.reports.readCounts
                replica = Stats.Replica(
                    state: state, server: reading?.replica?.server, reason: reason, lagBytes: reading?.replica?.lagBytes,
                    poolOpen: replicaPool.statistics.open, poolMax: replicaPool.configuration.maxConnections,
                    readsFromReplica: reads.replica, readsFromPrimary: reads.primary)
            }
            let connections = metrics.connectionTotals
            let uptime = ContinuousClock.now - metrics.started
            let stats = Stats(
                server: ServerInfo.name, version: ServerInfo.version, startedAt: metrics.startedAt,
                uptimeSeconds: Int(uptime.components.seconds),
                database: .init(
                    ready: services.readiness.isReady, reason: services.readiness.isReady ? nil : services.readiness.reason,
                    server: reading?.server,
                    poolOpen: pool.open, poolInUse: pool.inUse, poolWaiting: pool.waiting,
                    poolMax: services.pool.configuration.maxConnections, replica: replica),
                connections: .init(open: connections.open, opened: connections.opened, refused: connections.refused),
                commands: metrics.commandTotals.mapValues { totals in
                    .init(
                        count: totals.count, errors: totals.errors,
                        meanMs: totals.count == 0 ? 0 : (Double(totals.totalMicroseconds) / Double(totals.count) / 1000 * 1000).rounded() / 1000)
                },
                eventSubscribers: services.events.subscribers, eventsPublished: services.events.published,
                matchRounds: metrics.roundsRun, backfillWaiting: services.backfill.waiting, volunteersByStatus: byStatus)
            return CommandResult(.ok(JSONText.encode(stats)))
        })
}
