import MusterClient
import MusterCore
import MusterServer
import MusterTestSupport
import Synchronization
import Testing

/// Framing, pipelining and bad bytes over real TCP.
@Suite struct FramingTests {
    @Test func pipelinedRequestsAreAnsweredInOrder() async throws {
        // 250 failed AUTHs in one burst: lift the per-address limit, which is not what this test is about.
        try await withTestServer(authThrottle: AuthThrottle(limit: 1_000)) { server in
            let client = try await server.connect()
            // Immediate commands, database commands and errors interleaved, all in one write.
            var lines: [String] = []
            var expected: [String] = []
            for index in 0..<1000 {
                switch index % 4 {
                case 0: lines.append("PING"); expected.append("OK PONG")
                case 1: lines.append("AUTH mst_bad\(index)"); expected.append("ERR UNAUTHENTICATED token not accepted")
                case 2: lines.append("NOPE\(index)"); expected.append("ERR UNKNOWN_COMMAND unknown command NOPE\(index); HELP lists the commands")
                default: lines.append("HELLO"); expected.append("hello")
                }
            }
            try await client.writeRaw(Array((lines.joined(separator: "\n") + "\n").utf8))
            for (index, want) in expected.enumerated() {
                let got = try await client.readResponse().description
                if want == "hello" {
                    #expect(got.hasPrefix("OK {\"maxLineLength\""), "reply \(index)")
                } else {
                    #expect(got == want, "reply \(index)")
                }
            }
            await client.close()
        }
    }

    @Test func anOverlongLineIsRefusedAndTheConnectionGoesOn() async throws {
        try await withTestServer(configure: { $0.maxLineLength = 1024 }) { server in
            let client = try await server.connect()
            let exact = "PING" + String(repeating: " ", count: 1020)
            try await client.writeRaw(Array((exact + "\n").utf8))
            #expect(try await client.readResponse().payload == "PONG")
            try await client.writeRaw(Array((String(repeating: "x", count: 5000) + "\nPING\n").utf8))
            let refused = try await client.readResponse()
            #expect(refused.errorCode == "TOO_LONG")
            #expect(refused.errorMessage == "line exceeds 1024 bytes; it was discarded")
            #expect(try await client.readResponse().payload == "PONG")
            await client.close()
        }
    }

    @Test func anOverlongLineAtTheDefaultLimit() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            try await client.writeRaw(Array(String(repeating: "A", count: 64 * 1024 + 1).utf8))
            try await client.writeRaw(Array("\nPING\n".utf8))
            #expect(try await client.readResponse().errorCode == "TOO_LONG")
            #expect(try await client.readResponse().payload == "PONG")
            await client.close()
        }
    }

    @Test func invalidUTF8AndControlBytesAreBadRequestsNotDisconnects() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            try await client.writeRaw([0x50, 0x49, 0x4E, 0x47, 0x20, 0xC3, 0x28, 0x0A])
            let utf8 = try await client.readResponse()
            #expect(utf8.errorCode == "BAD_REQUEST")
            #expect(utf8.errorMessage == "invalid UTF-8 at byte 6")
            try await client.writeRaw([0x50, 0x00, 0x0A])
            #expect(try await client.readResponse().errorMessage == "control character 0x00 at byte 2 is not allowed")
            #expect(try await client.send("PING").payload == "PONG")
            await client.close()
        }
    }

    @Test func blankLinesAreIgnoredAndCRLFIsAccepted() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            try await client.writeRaw(Array("\n\r\n   \nPING\r\nPING\n".utf8))
            #expect(try await client.readResponse().payload == "PONG")
            #expect(try await client.readResponse().payload == "PONG")
            await client.close()
        }
    }

    @Test func anHTTPRequestIsClosedWithoutReply() async throws {
        try await withTestServer { server in
            let client = try await server.connect()
            try await client.writeRaw(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            #expect(await client.readLine() == nil)
        }
    }

    @Test func aClientThatHalfClosesStillGetsEveryReply() async throws {
        try await withTestServer { server in
            let token = try await server.makeToken(role: .admin)
            let client = try await server.connect()
            try await client.writeRaw(Array("AUTH \(token)\nWHOAMI\nPING\n".utf8))
            try await client.shutdownOutput()
            #expect(try await client.readResponse().isOK)
            #expect(try await client.readResponse().isOK)
            #expect(try await client.readResponse().payload == "PONG")
            #expect(await client.readLine() == nil)
        }
    }
}

/// A deferred command's answer: exactly one reaches the client, whatever the command does.
@Suite struct CommandCompletionTests {
    @Test func onlyTheFirstOfManyConcurrentAnswersIsDelivered() async throws {
        let delivered = Mutex<[String]>([])
        let repeated = Mutex(0)
        let completion = CommandCompletion(repeated: { repeated.withLock { $0 += 1 } }) { result in
            let payload: String
            switch result {
            case .success(let outcome):
                guard case .ok(let text) = outcome.reply else { return }
                payload = text ?? ""
            case .failure(let error): payload = "\(error)"
            }
            delivered.withLock { $0.append(payload) }
        }
        // 64 threads race to answer; some with errors.
        await withTaskGroup(of: Void.self) { group in
            for index in 0..<64 {
                group.addTask {
                    if index % 2 == 0 {
                        completion(.success(CommandResult(.ok("answer \(index)"))))
                    } else {
                        completion(.failure(TestSupportError("failure \(index)")))
                    }
                }
            }
        }
        #expect(delivered.withLock { $0.count } == 1)
        #expect(repeated.withLock { $0 } == 63)
        // An answer through a task counts the same: it is dropped too.
        let (events, sink) = AsyncStream.makeStream(of: String.self)
        let late = CommandCompletion(repeated: { sink.yield("repeated") }) { _ in sink.yield("delivered") }
        late(.success(CommandResult(.ok(nil))))
        late.complete { CommandResult(.ok("late")) }
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == "delivered")
        #expect(await iterator.next() == "repeated")
    }

    @Test func aCommandThatAnswersTwiceGetsOneReplyAndTheConnectionStaysInOrder() async throws {
        var registry = MusterServer.standardCommands
        registry.register(
            Command(
                name: "TWICE", usage: "TWICE", summary: "Answers twice (a faulty command).", access: .anyone,
                body: .deferred { _, _, completion in
                    completion(.success(CommandResult(.ok("first"))))
                    completion(.success(CommandResult(.ok("second"))))
                    completion(.failure(TestSupportError("third")))
                }))
        try await withTestServer(registry: registry) { server in
            let client = try await server.connect()
            // Each TWICE is answered once, and the PING after it gets its own reply, in order.
            try await client.writeRaw(Array("TWICE\nPING\nTWICE\nPING\n".utf8))
            for want in ["OK first", "OK PONG", "OK first", "OK PONG"] {
                #expect(try await client.readResponse().description == want)
            }
            #expect(try await client.send("PING").description == "OK PONG")
            await client.close()
        }
    }
}
