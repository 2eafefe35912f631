import Foundation
import MusterClient
import MusterCore
import MusterServer
import MusterTestSupport
import Testing

/// The metrics port scraped and parsed by a real Prometheus text-format parser (Debian's python3-prometheus-client),
/// and STATS over the protocol.
@Suite struct MetricsTests {
    @Test func theMetricsPortIsScrapedAndParsed() async throws {
        try await withTestServer(today: { StaffingTests.today }) { server in
            let staffing = StaffingTests()
            let (admin, ny, facility) = try await staffing.setUp(server)
            for _ in 0..<5 { #expect(try await admin.send("PING").isOK) }
            #expect(try await admin.send("FROBNICATE").errorCode == "UNKNOWN_COMMAND")
            _ = try await staffing.availableNurse(ny, "g1")
            _ = try await staffing.submit(ny, facility: facility, count: 1)
            #expect(try await ny.send(#"MATCH.RUN NY {"dryRun": true}"#).isOK)
            #expect(try await ny.send("EVENTS.SUBSCRIBE").isOK)

            let samples = try await scrapeMetrics(port: server.metricsPort)
            #expect(samples[#"muster_commands_total{command="PING",outcome="ok"}"#]?.value == 5, "\(samples.keys.sorted())")
            #expect(samples[#"muster_commands_total{command="PING",outcome="ok"}"#]?.type == "counter")
            #expect(samples[#"muster_commands_total{command="UNKNOWN",outcome="UNKNOWN_COMMAND"}"#]?.value == 1)
            #expect(samples[#"muster_commands_total{command="VOLUNTEER.REGISTER",outcome="ok"}"#]?.value == 1)
            // Latency histograms: a count per command and cumulative buckets ending at +Inf.
            #expect(samples[#"muster_command_duration_seconds_count{command="PING"}"#]?.value == 5)
            #expect(samples[#"muster_command_duration_seconds_bucket{command="PING",le="+Inf"}"#]?.value == 5)
            #expect(samples[#"muster_command_duration_seconds_count{command="PING"}"#]?.type == "histogram")
            #expect(samples["muster_connections{}"]?.value == 2, "admin and NY")
            #expect(samples[#"muster_pool_connections{state="open"}"#].map { $0.value >= 1 } == true)
            #expect(samples["muster_pool_waiting{}"]?.value == 0)
            #expect(samples["muster_event_subscribers{}"]?.value == 1)
            #expect(samples["muster_database_ready{}"]?.value == 1)
            #expect(samples[#"muster_volunteers{state="NY",status="available"}"#]?.value == 1)
            #expect(samples[#"muster_match_rounds_total{kind="dry_run"}"#]?.value == 1)
            #expect(samples[#"muster_match_round_duration_seconds_count{kind="dry_run"}"#]?.value == 1)
            // Without a replica, nothing about one.
            #expect(samples.keys.filter { $0.hasPrefix("muster_replica_") || $0.hasPrefix("muster_report_reads") }.isEmpty)

            // STATS tells an operator the same essentials.
            let stats = try staffing.object(try await admin.send("STATS").payload)
            #expect(stats["server"] as? String == "musterd")
            #expect((stats["database"] as? [String: Any])?["ready"] as? Bool == true)
            let testCluster = try TestCluster.cluster()
            #expect((stats["database"] as? [String: Any])?["server"] as? String == "\(testCluster.directory):\(testCluster.port)")
            #expect((stats["database"] as? [String: Any])?["replica"] is NSNull, "no replica: null")
            #expect((stats["connections"] as? [String: Any])?["open"] as? Int == 2)
            let commands = try #require(stats["commands"] as? [String: [String: Any]])
            #expect(commands["PING"]?["count"] as? Int == 5)
            #expect(commands["UNKNOWN"]?["errors"] as? Int == 1)
            #expect(stats["matchRounds"] as? Int == 1)
            #expect(stats["eventSubscribers"] as? Int == 1)
            #expect((stats["volunteersByStatus"] as? [String: Int])?["available"] == 1)
            #expect(try await ny.send("STATS").errorCode == "FORBIDDEN")
        }
    }
}
