import Foundation
import MusterClient
import MusterCore
import MusterPQ
import MusterServer
import MusterStore
import MusterTestSupport
import Testing

/// Revocation reaching open connections on every daemon, and the limit on failed `AUTH` attempts per address.
@Suite struct TokenGuardTests {
    @Test func aRevokedTokenStopsWorkingOnOpenConnectionsOfEveryDaemon() async throws {
        let database = try await TestCluster.makeDatabase()
        try await withTestServer(database: database) { first in
            try await withTestServer(database: database) { second in
                let token = try await first.makeToken(role: .state, state: "NY")
                let here = try await first.connect()
                let there = try await second.connect()
                #expect(try await here.send("AUTH \(token)").isOK)
                #expect(try await there.send("AUTH \(token)").isOK)
                #expect(try await there.send("EVENTS.SUBSCRIBE").isOK)
                #expect(second.services.events.subscribers == 1)
                let other = try await second.connect(role: .state, state: "NY", name: "kept")
                #expect(try await other.send("EVENTS.SUBSCRIBE").isOK)

                // Revoked the way musterctl does it, straight in the database.
                try await first.pool.withConnection { connection in
                    let id = try TokenStore().list(connection, includeRevoked: false).first { $0.name == "test" }!.id
                    _ = try TokenStore().revoke(connection, id: id)
                }
                // Both daemons hear of it within moments; the next command on each connection is refused.
                for (client, server) in [(here, first), (there, second)] {
                    var reply = try await client.send("WHOAMI")
                    let deadline = ContinuousClock.now + .seconds(10)
                    while reply.isOK, ContinuousClock.now < deadline {
                        try await Task.sleep(for: .milliseconds(20))
                        reply = try await client.send("WHOAMI")
                    }
                    #expect(reply.errorCode == "UNAUTHENTICATED")
                    #expect(reply.errorMessage == "token revoked; AUTH with a valid token")
                    // Signed out for good: the next command needs AUTH, and the token is refused there too.
                    #expect(try await client.send("VOLUNTEER.FUNNEL").errorMessage == "VOLUNTEER.FUNNEL needs authentication; send AUTH <token> first")
                    #expect(try await client.send("AUTH \(token)").errorCode == "UNAUTHENTICATED")
                    #expect(try await client.send("PING").isOK)
                    _ = server
                }
                // Its event subscription is gone; the other token's is not.
                #expect(second.services.events.subscribers == 1)
                #expect(try await other.send("WHOAMI").isOK)
            }
        }
    }

    /// The `LISTEN` connection cut (as a failover or a restart of PostgreSQL would): a token revoked while it is
    /// away is still refused once it is back, because it reloads every revocation, and subscribers are told to
    /// resynchronise, since events were missed.
    @Test func aRevocationMadeWhileTheDatabaseWatchIsCutOffIsHeardWhenItReconnects() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .state, state: "NY", name: "revoked-while-away")
            let client = try await server.connect()
            #expect(try await client.send("AUTH \(token)").isOK)
            let watcher = try await server.connect(role: .state, state: "NY", name: "watcher")
            #expect(try await watcher.send("EVENTS.SUBSCRIBE").isOK)

            // The watch's connection is the one whose last statement was a LISTEN.
            let listener: PGQuery = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%'"
            var pid: Int32?
            let found = try await eventually {
                pid = try await server.pool.query(listener).first?.decode("pid", as: Int32.self)
                return pid != nil
            }
            try #require(found, "the database watch should be listening")
            // Ended (waiting up to 5 s for it to be gone), then the token revoked: nobody hears that notification.
            let ended = try await server.pool.query("SELECT pg_terminate_backend(\(pid!), 5000) AS ended").first?.decode("ended", as: Bool.self)
            #expect(ended == true)
            try await server.pool.withConnection { connection in
                let id = try TokenStore().list(connection, includeRevoked: false).first { $0.name == "revoked-while-away" }!.id
                _ = try TokenStore().revoke(connection, id: id)
            }

            // Back: subscribers hear `resync`, and the revoked token is refused.
            let resync = try await watcher.waitForEvent(timeout: .seconds(60)) { $0.contains(#""type":"resync""#) }
            #expect(resync.match.contains("resync"))
            var reply: Response?
            let refused = try await eventually {
                reply = try await client.send("WHOAMI")
                return reply?.isOK == false
            }
            #expect(refused, "the revoked token should stop working")
            #expect(reply?.errorMessage == "token revoked; AUTH with a valid token", "\(String(describing: reply))")
            // And it listens again: a revocation now is heard as it happens.
            let watcherToken = try await server.pool.withConnection { connection in
                try TokenStore().list(connection, includeRevoked: false).first { $0.name == "watcher" }!.id
            }
            _ = try await server.pool.withConnection { connection in try TokenStore().revoke(connection, id: watcherToken) }
            let watcherRefused = try await eventually { try await watcher.send("WHOAMI").errorCode == "UNAUTHENTICATED" }
            #expect(watcherRefused)
            await client.close()
            await watcher.close()
        }
    }

    @Test func failedAuthAttemptsAreLimitedPerAddress() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .admin)
            let limit = server.services.authThrottle.limit
            let client = try await server.connect()
            for _ in 0..<limit {
                #expect(try await client.send("AUTH mst_guess").errorCode == "UNAUTHENTICATED")
            }
            // From another connection of the same address, even the right token waits for the window to pass.
            let next = try await server.connect()
            let refused = try await next.send("AUTH \(token)")
            #expect(refused.errorCode == "BUSY")
            #expect(refused.errorMessage?.hasPrefix("too many failed AUTH attempts from this address; try again in ") == true, "\(refused)")
            #expect(try await next.send("WHOAMI").errorCode == "UNAUTHENTICATED")
            // The connection and the daemon carry on.
            #expect(try await next.send("PING").isOK)
        }
    }

    @Test func theThrottleForgetsOldWindowsAndStaysBounded() {
        let throttle = AuthThrottle(limit: 3, window: .seconds(60), capacity: 2)
        let start = ContinuousClock.now
        for _ in 0..<3 { throttle.recordFailure("10.0.0.1", now: start) }
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(1)) == .seconds(59))
        #expect(throttle.retryAfter("10.0.0.2", now: start) == nil)
        #expect(throttle.retryAfter("10.0.0.1", now: start + .seconds(60)) == nil)
        // Capacity 2: a third address evicts the oldest window.
        throttle.recordFailure("a", now: start)
        throttle.recordFailure("b", now: start + .seconds(1))
        throttle.recordFailure("c", now: start + .seconds(2))
        #expect(throttle.recordFailure("a", now: start + .seconds(3)) == 1)
        throttle.recordSuccess("c")
        #expect(throttle.recordFailure("c", now: start + .seconds(4)) == 1)
    }
}
