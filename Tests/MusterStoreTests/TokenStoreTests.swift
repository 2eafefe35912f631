import Logging
import MusterCore
import MusterPQ
import MusterStore
import MusterTestSupport
import Testing

@Suite struct TokenStoreTests {
    func migratedPool() async throws -> PGPool {
        let pool = try await TestCluster.makePool()
        try await Migrator(directory: RepositoryPaths.migrations).migrate(pool, logger: Logger(label: "test"))
        return pool
    }

    @Test func createAuthenticateRevoke() async throws {
        let pool = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        let store = TokenStore()
        let issued = try await pool.withConnection { connection in
            try store.create(connection, name: "NY DOH", role: .state, state: Jurisdiction("ny"), facilityID: nil)
        }
        #expect(issued.secret.hasPrefix("mst_"))
        #expect(issued.secret.count == 4 + 43)
        #expect(issued.record.state == "NY")
        #expect(issued.secret.hasPrefix(issued.record.prefix))

        let identity = try await pool.withConnection { connection in try store.authenticate(connection, secret: issued.secret) }
        #expect(identity == Identity(tokenID: issued.record.id, name: "NY DOH", role: .state, jurisdiction: Jurisdiction("NY"), facilityID: nil))

        // The same token with its last character changed.
        let altered = String(issued.secret.dropLast()) + (issued.secret.hasSuffix("A") ? "B" : "A")
        let wrong = try await pool.withConnection { connection in try store.authenticate(connection, secret: altered) }
        #expect(wrong == nil)

        let revoked = try await pool.withConnection { connection in try store.revoke(connection, id: issued.record.id) }
        #expect(revoked?.revokedAt != nil)
        let afterRevoke = try await pool.withConnection { connection in try store.authenticate(connection, secret: issued.secret) }
        #expect(afterRevoke == nil)
        let missing = try await pool.withConnection { connection in try store.revoke(connection, id: 999_999) }
        #expect(missing == nil)
    }

    @Test func onlyTheHashIsStored() async throws {
        let pool = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        let issued = try await pool.withConnection { connection in
            try TokenStore().create(connection, name: "admin", role: .admin, state: nil, facilityID: nil)
        }
        let rows = try await pool.query("SELECT row_to_json(t)::text AS everything FROM api_tokens t")
        let stored = try rows[0].decode("everything", as: String.self)
        #expect(!stored.contains(issued.secret))
        #expect(!stored.contains(String(issued.secret.dropFirst(10))))
        let hash = try await pool.query("SELECT token_hash FROM api_tokens")[0].decode("token_hash", as: PGBytes.self)
        #expect(hash.bytes == TokenStore.hash(issued.secret))
    }

    @Test func scopesAreValidated() async throws {
        let pool = try await migratedPool()
        defer { Task { try await pool.shutdown() } }
        let store = TokenStore()
        let cases: [(Role, Jurisdiction?, Int64?, String, String)] = [
            (.state, nil, nil, "x", "needs --state"),
            (.admin, Jurisdiction("NY"), nil, "x", "takes no --state"),
            (.hospital, nil, nil, "x", "needs --facility"),
            (.admin, nil, nil, "   ", "name: must be 1 to 200 characters"),
            // A hospital token is scoped to a facility that exists.
            (.hospital, nil, 999, "x", "no facility 999; create it first"),
        ]
        for (role, state, facility, name, message) in cases {
            let error = await #expect(throws: TokenError.self) {
                try await pool.withConnection { connection in
                    try store.create(connection, name: name, role: role, state: state, facilityID: facility)
                }
            }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "")")
        }
        #expect(try await pool.query("SELECT count(*) AS n FROM api_tokens")[0].decode("n", as: Int.self) == 0)
        let facility = try await pool.withConnection { connection in
            try StaffingStore().createFacility(
                connection, state: "NY", name: "Bellevue", kind: "hospital", lat: 40.74, lon: -73.98, provides: [], by: nil)
        }
        let issued = try await pool.withConnection { connection in
            try store.create(connection, name: "Bellevue desk", role: .hospital, state: nil, facilityID: facility.id)
        }
        #expect(issued.record.facilityID == facility.id)
    }
}
