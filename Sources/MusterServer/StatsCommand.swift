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
            let connections = metrics.connectionTotals
            let uptime = ContinuousClock.now - metrics.started
            let stats = Stats(
                server: ServerInfo.name, version: ServerInfo.version, startedAt: metrics.startedAt,
                uptimeSeconds: Int(uptime.components.seconds),
                database: .init(
                    ready: services.readiness.isReady, reason: services.readiness.isReady ? nil : services.readiness.reason,
                    server: reading?.server,
                    poolOpen: pool.open, poolInUse: pool.inUse, poolWaiting: pool.waiting,
                    poolMax: services.pool.configuration.maxConnections),
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
