import Logging
import MusterClient
import MusterCore
import MusterPQ
import MusterTestSupport
import NIOCore
import Testing

/// Connection limits, idle timeouts and graceful shutdown.
@Suite struct LimitsAndShutdownTests {
    @Test func connectionsOverTheLimitGetBusyAndAreClosed() async throws {
        try await withTestServer(configure: { $0.maxConnections = 3 }) { server in
            var clients: [MusterClient] = []
            for _ in 0..<3 {
                let client = try await server.connect()
                #expect(try await client.send("PING").payload == "PONG")
                clients.append(client)
            }
            let extra = try await server.connect()
            let busy = try await extra.readResponse()
            #expect(busy.errorCode == "BUSY")
            #expect(busy.errorMessage == "too many connections (limit 3); try again later")
            #expect(await extra.readLine() == nil)
            // A slot that frees up can be used again.
            await clients.removeLast().close()
            // Until the server has seen the close, a new connection may still be refused (and closed at once).
            let admitted = try await eventually {
                let retry = try await server.connect()
                let answered = (try? await retry.send("PING"))?.payload == "PONG"
                await retry.close()
                return answered
            }
            #expect(admitted)
            for client in clients { await client.close() }
        }
    }

    @Test func connectionsFromOneAddressAreLimited() async throws {
        try await withTestServer(configure: { $0.maxConnectionsPerAddress = 2 }) { server in
            let first = try await server.connect()
            let second = try await server.connect()
            #expect(try await first.send("PING").isOK)
            #expect(try await second.send("PING").isOK)
            let third = try await server.connect()
            let busy = try await third.readResponse()
            #expect(busy.errorCode == "BUSY")
            #expect(busy.errorMessage == "too many connections from this address (limit 2); try again later")
            #expect(await third.readLine() == nil)
            // The open ones carry on; the total is far from its limit.
            #expect(try await first.send("PING").isOK)
            #expect(server.server.openConnections == 2)
            await first.close()
            await second.close()
        }
    }

    @Test func anIdleConnectionIsTimedOut() async throws {
        // Long enough that a loaded machine still gets the first PING in; the timeout then runs from that reply.
        try await withTestServer(configure: { $0.idleTimeout = .seconds(5) }) { server in
            let client = try await server.connect()
            #expect(try await client.send("PING").payload == "PONG")
            let timeout = try await client.readResponse()
            #expect(timeout.errorCode == "TIMEOUT")
            #expect(await client.readLine() == nil)
        }
    }

    @Test func aSlowlorisThatNeverFinishesALineIsTimedOut() async throws {
        try await withTestServer(configure: { $0.idleTimeout = .milliseconds(400) }) { server in
            let client = try await server.connect()
            let dribble = Task {
                for byte in Array("AUTH mst_slowly_forever".utf8) {
                    try? await client.writeRaw([byte])
                    try? await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(try await client.readResponse().errorCode == "TIMEOUT")
            #expect(await client.readLine() == nil)
            dribble.cancel()
        }
    }

    @Test func gracefulShutdownAnswersWhatWasInFlightThenCloses() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .admin)
            // Hold a lock that AUTH needs, so its command is in flight when shutdown starts: the token rows, locked
            // for update. (Not the whole table: the daemon's watch reads it too, and a watch kept waiting can hold
            // up the very AUTH this test watches for.)
            let blocker = try PGConnection.connect(server.pool.configuration.connection, logger: Logger(label: "test"))
            defer { blocker.close() }
            try blocker.executeScript("BEGIN; SELECT id FROM api_tokens FOR UPDATE")
            let client = try await server.connect()
            try await client.writeRaw(Array("AUTH \(token)\nPING\n".utf8))
            // Wait until AUTH is really in flight: its UPDATE waits for a row lock. (Only a writer of those rows waits
            // for them; the daemon's own reads of api_tokens do not. pg_stat_activity's query text is no guide: for a
            // prepared statement it may still show the connection's previous one.)
            var waiting = 0
            _ = try await eventually(every: .milliseconds(50)) {
                // The blocker is inside its transaction, where PostgreSQL keeps its first list of sessions until the
                // transaction ends: without discarding it, AUTH on a pool connection opened after the first look
                // (as happens on a loaded machine) never appears, and the test waited 60 s and failed.
                try blocker.query("SELECT pg_stat_clear_snapshot()")
                waiting = try blocker.query(
                    """
                    SELECT count(*) AS n FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND wait_event = 'transactionid' AND datname = current_database()
                    """
                )[0].decode("n", as: Int.self)
                return waiting > 0
            }
            if waiting != 1 {
                let activity = try blocker.query(
                    """
                    SELECT coalesce(state, '') AS state, coalesce(wait_event_type, '') || '/' || coalesce(wait_event, '') AS wait,
                           backend_type, left(query, 80) AS query
                    FROM pg_stat_activity WHERE datname = current_database()
                    """)
                let lines = try activity.map {
                    try "\($0.decode("backend_type", as: String.self)) \($0.decode("state", as: String.self)) "
                        + "\($0.decode("wait", as: String.self)) \($0.decode("query", as: String.self))"
                }
                Issue.record(
                    "AUTH never waited for the row lock; pool \(server.pool.statistics); activity:\n\(lines.joined(separator: "\n"))")
            }
            let shutdown = Task { await server.shutdown() }
            // New connections are soon no longer accepted.
            let refused = try await eventually(every: .milliseconds(50)) {
                do {
                    let late = try await server.connect()
                    await late.close()
                    return false
                } catch {
                    return true
                }
            }
            #expect(refused)
            try blocker.executeScript("COMMIT")
            let auth = try await client.readResponse()
            #expect(auth.isOK, "\(auth)")
            #expect(try await client.readResponse().payload == "PONG")
            #expect(await client.readLine() == nil)
            await shutdown.value
        }
    }
}
