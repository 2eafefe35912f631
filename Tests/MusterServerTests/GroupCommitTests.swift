import Foundation
import Logging
import MusterClient
import MusterPQ
import MusterTestSupport
import Synchronization
import Testing

/// Registrations from many connections at once share transactions (group commit), and each is still decided,
/// answered and audited as its own: the right id, the right actor, one winner among duplicates, and an `OK` only
/// for what was committed.
@Suite struct GroupCommitTests {
    final class Replies: Sendable {
        let value = Mutex<[String: Response]>([:])
    }

    static func registration(_ ref: String, npi: String? = nil) -> String {
        var extra: [String: Any] = [:]
        if let npi { extra["npi"] = npi }
        return "VOLUNTEER.REGISTER " + VolunteerRegistryTests.registration(ref, extra)
    }

    /// `count` connections authenticated with one NY state token.
    static func connectionsSharingOneToken(_ server: TestServer, count: Int) async throws -> [MusterClient] {
        let token = try await server.makeToken(role: .state, state: "NY")
        var clients: [MusterClient] = []
        for _ in 0..<count {
            let client = try await server.connect()
            #expect(try await client.send("AUTH \(token)").isOK)
            clients.append(client)
        }
        return clients
    }

    /// A connection holding the volunteers table until it commits, so registrations wait inside their
    /// transactions.
    static func holdVolunteers(_ server: TestServer) throws -> PGConnection {
        let blocker = try PGConnection.connect(server.pool.configuration.connection, logger: Logger(label: "test"))
        try blocker.executeScript("BEGIN; LOCK TABLE volunteers IN SHARE MODE")
        return blocker
    }

    /// The number under `key` in the reply's JSON.
    static func id(_ reply: Response, key: String = "id") throws -> Int64 {
        let payload = try #require(reply.payload, "\(reply)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
        return Int64(try #require(object[key] as? Int))
    }

    @Test func concurrentRegistrationsAreEachAnsweredAndAuditedUnderTheirOwnToken() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            let connections = 12
            let perConnection = 15
            // Every connection has a token of its own, so each audit row can be traced to its sender.
            var clients: [MusterClient] = []
            for index in 0..<connections {
                clients.append(try await server.connect(role: .state, state: "NY", name: "intake \(index)"))
            }
            // Each connection registers its own volunteers, and all of them also race to register one person
            // (the same NPI) under refs of their own.
            let answered = try await withThrowingTaskGroup(of: [(ref: String, connection: Int, reply: Response)].self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        var replies: [(String, Int, Response)] = []
                        for number in 0..<perConnection {
                            let ref = "c\(index)-\(number)"
                            replies.append((ref, index, try await client.send(Self.registration(ref))))
                            if number == perConnection / 2 {
                                let twin = "twin-\(index)"
                                replies.append((twin, index, try await client.send(Self.registration(twin, npi: "1234567893"))))
                            }
                        }
                        return replies
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            let own = answered.filter { !$0.ref.hasPrefix("twin") }
            #expect(own.allSatisfy { $0.reply.isOK }, "\(own.filter { !$0.reply.isOK }.prefix(3))")
            let ids = try own.map { try Self.id($0.reply) }
            #expect(Set(ids).count == connections * perConnection)

            // Exactly one of the racing registrations of one person wins; every other names the winner.
            let twins = answered.filter { $0.ref.hasPrefix("twin") }
            let winners = twins.filter { $0.reply.isOK }
            #expect(winners.count == 1, "\(twins.map(\.reply))")
            let winner = try Self.id(try #require(winners.first).reply)
            for loser in twins where !loser.reply.isOK {
                #expect(loser.reply.errorCode == "CONFLICT")
                #expect(loser.reply.errorMessage?.contains("duplicate of volunteer \(winner) registered in NY (same NPI)") == true, "\(loser.reply)")
            }

            // The database agrees with every answer: each id holds the ref it was given, created by its sender's
            // token, with one audit row naming that sender.
            let rows = try await server.pool.query(
                """
                SELECT v.id, v.ref, t.name AS creator, a.actor_name, a.actor_token_id = v.created_by AS same_token,
                       (SELECT count(*) FROM audit_log x WHERE x.entity = 'volunteer' AND x.entity_id = v.id) AS audits
                FROM volunteers v JOIN api_tokens t ON t.id = v.created_by
                JOIN audit_log a ON a.entity = 'volunteer' AND a.entity_id = v.id AND a.action = 'volunteer.register'
                """)
            #expect(rows.count == connections * perConnection + 1)
            var stored: [Int64: (ref: String, creator: String)] = [:]
            for row in rows {
                let creator: String = try row.decode("creator")
                #expect(try row.decode("actor_name", as: String.self) == creator)
                #expect(try row.decode("same_token", as: Bool.self))
                #expect(try row.decode("audits", as: Int.self) == 1)
                stored[try row.decode("id")] = (try row.decode("ref"), creator)
            }
            for answer in answered where answer.reply.isOK {
                let record = stored[try Self.id(answer.reply)]
                #expect(record?.ref == answer.ref)
                #expect(record?.creator == "intake \(answer.connection)")
            }
            for client in clients { await client.close() }
        }
    }

    @Test func registrationsWaitingForACommitGoTogetherInTheNext() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            let clients = try await Self.connectionsSharingOneToken(server, count: 8)
            // Hold the volunteers table, so the first batches wait inside their transactions and the rest queue.
            let blocker = try Self.holdVolunteers(server)
            defer { blocker.close() }
            let replies = Replies()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, client) in clients.enumerated() {
                    group.addTask {
                        let reply = try await client.send(Self.registration("held-\(index)"))
                        replies.value.withLock { $0["held-\(index)"] = reply }
                    }
                }
                // Two batches (the most in flight for one state) wait for the lock; the other six wait for them.
                _ = try await eventually(every: .milliseconds(25)) { server.services.registrations.waiting == 6 }
                #expect(server.services.registrations.waiting == 6)
                #expect(replies.value.withLock { $0.isEmpty }, "nothing is answered before it is committed")
                try blocker.executeScript("COMMIT")
                try await group.waitForAll()
            }
            #expect(replies.value.withLock { $0.values.allSatisfy(\.isOK) })
            // Rows one transaction wrote share its id (xmin): two held batches and one for the six that waited.
            let transactions = try await server.pool.query(
                "SELECT count(DISTINCT xmin::text) AS n FROM volunteers WHERE ref LIKE 'held-%'")[0].decode("n", as: Int.self)
            #expect(transactions == 3)
            for client in clients { await client.close() }
        }
    }

    @Test func aRegistrationTheDatabaseRefusesFailsAloneNotTheOthersOfItsBatch() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            // A rule validation does not know, standing in for any constraint it might miss.
            _ = try await server.pool.query("ALTER TABLE volunteers ADD CONSTRAINT test_no_poison CHECK (ref <> 'poison')")
            let clients = try await Self.connectionsSharingOneToken(server, count: 8)
            let blocker = try Self.holdVolunteers(server)
            defer { blocker.close() }
            let replies = Replies()
            let refs = ["first", "second", "a", "b", "poison", "c", "d", "e"]
            try await withThrowingTaskGroup(of: Void.self) { group in
                func send(_ index: Int) {
                    let client = clients[index]
                    let ref = refs[index]
                    group.addTask {
                        let reply = try await client.send(Self.registration(ref))
                        replies.value.withLock { $0[ref] = reply }
                    }
                }
                // Two batches of one wait for the lock, so the other six, poison among them, queue for the next.
                send(0)
                send(1)
                _ = try await eventually(every: .milliseconds(25)) { server.services.registrations.running == 2 }
                #expect(server.services.registrations.running == 2)
                for index in 2..<8 { send(index) }
                _ = try await eventually(every: .milliseconds(25)) { server.services.registrations.waiting == 6 }
                #expect(server.services.registrations.waiting == 6)
                try blocker.executeScript("COMMIT")
                try await group.waitForAll()
            }
            let answered = replies.value.withLock { $0 }
            #expect(answered["poison"]?.errorCode == "INTERNAL", "\(String(describing: answered["poison"]))")
            for ref in refs where ref != "poison" {
                #expect(answered[ref]?.isOK == true, "\(ref): \(String(describing: answered[ref]))")
            }
            let stored = try await server.pool.query("SELECT ref FROM volunteers ORDER BY ref").map { try $0.decode("ref", as: String.self) }
            #expect(stored == refs.filter { $0 != "poison" }.sorted())
            for client in clients { await client.close() }
        }
    }

    @Test func anImportRowTheDatabaseRefusesFailsAloneNotItsBatch() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            _ = try await server.pool.query("ALTER TABLE volunteers ADD CONSTRAINT test_no_poison CHECK (ref <> 'poison')")
            let ny = try await server.connect(role: .state, state: "NY")
            let refs = ["r1", "r2", "poison", "r3"]
            let rows = refs.enumerated().map { index, ref in
                #"{"line":\#(index + 2),"registration":\#(VolunteerRegistryTests.registration(ref))}"#
            }
            let reply = try await ny.send(#"VOLUNTEER.IMPORT {"rows":[\#(rows.joined(separator: ","))]}"#)
            #expect(reply.isOK, "\(reply)")
            let outcomes = try reply.rows.map { row in
                try #require(try JSONSerialization.jsonObject(with: Data(row.utf8)) as? [String: Any])
            }
            #expect(outcomes.map { $0["line"] as? Int } == [2, 3, 4, 5])
            #expect(outcomes.map { $0["created"] as? Bool } == [true, true, nil, true])
            let problem = (outcomes[2]["errors"] as? [[String: Any]])?.first
            #expect(problem?["field"] as? String == "row")
            #expect((problem?["rule"] as? String)?.hasPrefix("internal error ") == true, "\(String(describing: problem))")
            let stored = try await server.pool.query("SELECT ref FROM volunteers ORDER BY ref").map { try $0.decode("ref", as: String.self) }
            #expect(stored == ["r1", "r2", "r3"])
        }
    }

    @Test func concurrentEligibilityChecksEachGetTheirOwnVolunteerWithinScope() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            let ny = try await server.connect(role: .state, state: "NY")
            let nj = try await server.connect(role: .state, state: "NJ")
            var nyIDs: [Int64] = []
            var njIDs: [Int64] = []
            for number in 0..<10 {
                nyIDs.append(try Self.id(try await ny.send(Self.registration("ny-\(number)"))))
                njIDs.append(try Self.id(try await nj.send(Self.registration("nj-\(number)"))))
            }
            let nyIDsCopy = nyIDs
            let njIDsCopy = njIDs
            // Sixteen connections (half NY, half NJ) check every volunteer of both states at once; the reads are
            // batched together, and each answer must still be its own volunteer's, or FORBIDDEN outside the scope.
            var checkers: [(state: String, client: MusterClient)] = []
            for index in 0..<16 {
                let state = index % 2 == 0 ? "NY" : "NJ"
                checkers.append((state, try await server.connect(role: .state, state: state)))
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (state, client) in checkers {
                    group.addTask {
                        for _ in 0..<3 {
                            for id in (nyIDsCopy + njIDsCopy).shuffled() {
                                let reply = try await client.send("ELIGIBILITY.CHECK \(id) \(state)")
                                let own = state == "NY" ? nyIDsCopy.contains(id) : njIDsCopy.contains(id)
                                if own {
                                    #expect(try Self.id(reply, key: "volunteerId") == id, "\(reply)")
                                } else {
                                    #expect(reply.errorCode == "FORBIDDEN", "\(state) reading \(id): \(reply)")
                                    #expect(reply.errorMessage == "volunteer \(id) is not in \(state)'s registry")
                                }
                            }
                        }
                    }
                }
                try await group.waitForAll()
            }
            for (_, client) in checkers { await client.close() }
        }
    }

    @Test func aCheckAfterAnUpdateSeesTheUpdate() async throws {
        try await withTestServer(today: { VolunteerRegistryTests.today }) { server in
            let nj = try await server.connect(role: .state, state: "NJ")
            let id = try Self.id(try await nj.send(Self.registration("u1")))
            func eligible() async throws -> Bool {
                let reply = try await nj.send("ELIGIBILITY.CHECK \(id) NJ")
                let payload = try #require(reply.payload, "\(reply)")
                let object = try #require(try JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any])
                return try #require(object["eligible"] as? Bool)
            }
            // An active NJ licence: eligible in NJ, read twice (the second time from decoded profiles kept).
            #expect(try await eligible())
            #expect(try await eligible())
            // The licence is now New York's, not New Jersey's (no emergency order is loaded here).
            let moved = #"{"licenses": [{"jurisdiction": "NY", "type": "RN", "number": "RN-u1", "status": "active", "expires": "2021-05-31"}]}"#
            let updated = try await nj.send("VOLUNTEER.UPDATE \(id) \(moved)")
            #expect(updated.isOK, "\(updated)")
            #expect(try await eligible() == false)
        }
    }
}

