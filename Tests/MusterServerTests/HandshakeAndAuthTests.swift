import Foundation
import MusterClient
import MusterCore
import MusterPQ
import MusterServer
import MusterStore
import MusterTestSupport
import Testing

/// The session commands over real TCP against a real server and database.
@Suite struct HandshakeAndAuthTests {
    func object(_ text: String?) throws -> [String: Any] {
        let data = Data(try #require(text).utf8)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func helloAndPing() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            let hello = try await client.send("HELLO")
            let payload = try object(hello.payload)
            #expect(payload["server"] as? String == "musterd")
            #expect(payload["protocol"] as? Int == 1)
            #expect(payload["maxLineLength"] as? Int == 65536)
            #expect(payload["ready"] as? Bool == true)
            #expect(try await client.send("ping").payload == "PONG")
            await client.close()
        }
    }

    @Test func authenticateThenWhoami() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .state, state: "NJ", name: "NJ DOH")
            let client = try await server.connect()
            let denied = try await client.send("WHOAMI")
            #expect(denied.errorCode == "UNAUTHENTICATED")
            let auth = try await client.send("AUTH \(token)")
            let identity = try object(auth.payload)
            #expect(identity["role"] as? String == "state")
            #expect(identity["state"] as? String == "NJ")
            #expect(identity["name"] as? String == "NJ DOH")
            #expect(identity["facilityId"] is NSNull)
            let whoami = try await client.send("WHOAMI")
            #expect(try object(whoami.payload)["tokenId"] as? Int == identity["tokenId"] as? Int)
            #expect(whoami.payload?.contains(token) == false)
            await client.close()
        }
    }

    @Test func failedAuthLeavesTheConnectionUnauthenticated() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .admin)
            let client = try await server.connect()
            #expect(try await client.send("AUTH \(token)").isOK)
            let bad = try await client.send("AUTH mst_not-a-real-token")
            #expect(bad.errorCode == "UNAUTHENTICATED")
            #expect(bad.errorMessage == "token not accepted")
            // A failed AUTH signs the connection out: no half-trusted state.
            #expect(try await client.send("WHOAMI").errorCode == "UNAUTHENTICATED")
            #expect(try await client.send("AUTH").errorCode == "BAD_REQUEST")
            #expect(try await client.send("AUTH a b").errorMessage == "wrong number of arguments; usage: AUTH <token>")
            await client.close()
        }
    }

    @Test func aRevokedTokenIsRefused() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .admin)
            let id = try await server.pool.withConnection { connection in
                try connection.query("UPDATE api_tokens SET revoked_at = now() RETURNING id")[0].decode("id", as: Int64.self)
            }
            #expect(id > 0)
            let client = try await server.connect()
            #expect(try await client.send("AUTH \(token)").errorCode == "UNAUTHENTICATED")
            await client.close()
        }
    }

    @Test func helpListsEveryCommandAndDescribesOne() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            let help = try await client.send("HELP")
            let names = try help.rows.map { try object($0)["command"] as? String }
            #expect(names == MusterServer.standardCommands.all.map(\.name))
            #expect(Set(["AUTH", "HELLO", "HELP", "PING", "QUIT", "WHOAMI"]).isSubset(of: Set(names.compactMap { $0 })))
            #expect(try object(help.payload)["count"] as? Int == names.count)
            let one = try await client.send("HELP auth")
            #expect(try object(one.payload)["usage"] as? String == "AUTH <token>")
            #expect(try await client.send("HELP NOPE").errorCode == "UNKNOWN_COMMAND")
            await client.close()
        }
    }

    @Test func quitSaysByeAndCloses() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            #expect(try await client.send("QUIT").payload == "bye")
            #expect(await client.readLine() == nil)
        }
    }

    @Test func commandErrorsAreNamed() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            let unknown = try await client.send("FROBNICATE 1")
            #expect(unknown.errorCode == "UNKNOWN_COMMAND")
            #expect(unknown.errorMessage?.contains("FROBNICATE") == true)
            #expect(try await client.send("PING extra").errorCode == "BAD_REQUEST")
            #expect(try await client.send(#"PING {"a":1}"#).errorMessage == "PING takes no JSON object; usage: PING")
            #expect(try await client.send("9LIVES").errorCode == "BAD_REQUEST")
            #expect(try await client.send("PING").payload == "PONG")
            await client.close()
        }
    }

    @Test func aDatabaseOutageIsUnavailableAndTheConnectionSurvives() async throws {
        var unreachable = PGConnectionConfiguration(parameters: [("host", "/nonexistent-muster-dir"), ("dbname", "x")])
        unreachable.connectTimeoutSeconds = 1
        try await withTestServer(database: unreachable, migrate: false) { server in
            let client = try await server.connect()
            let auth = try await client.send("AUTH mst_whatever")
            #expect(auth.errorCode == "UNAVAILABLE")
            #expect(auth.errorMessage?.contains("database") == true)
            #expect(try await client.send("PING").payload == "PONG")
            await client.close()
        }
    }
}
