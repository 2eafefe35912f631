import Foundation
import MusterTestSupport
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A client that sends but never reads cannot make the server buffer without bound: once the replies it does not
/// read fill the socket buffers and the server's output limit, the server stops reading from it, so the client's
/// own writes stall.
///
/// These clients flood the server, so each test's server runs on an event loop of its own: on the shared ones the
/// flood would starve the servers of the tests running beside it.
@Suite struct BackpressureTests {
    /// A non-blocking TCP connection to the server with a 16 KiB receive buffer, so unread replies back up quickly.
    static func smallWindowSocket(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError("socket() failed: \(errno)") }
        var small: Int32 = 16 * 1024
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw TestSupportError("connect() failed: \(errno)")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
        return fd
    }

    @Test func aClientThatNeverReadsIsStoppedNotBuffered() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await withTestServer(eventLoopGroup: loops) { server in
            let fd = try Self.smallWindowSocket(port: server.port)
            defer { close(fd) }

            // Write PINGs without reading a single reply, until writes have stalled for 5 seconds (or 256 MiB went,
            // or a minute passed).
            // A server that kept reading would, once it had worked through what is buffered, take more.
            let chunk = [UInt8](repeating: 0, count: 64 * 1024).enumerated().map { index, _ in
                Array("PING\n".utf8)[index % 5]
            }
            var written = 0
            var stalledSince: ContinuousClock.Instant?
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)
            while written < 256 * 1024 * 1024, clock.now < deadline {
                let sent = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent > 0 {
                    written += sent
                    stalledSince = nil
                    continue
                }
                #expect(errno == EAGAIN || errno == EWOULDBLOCK, "send failed: \(errno)")
                if let since = stalledSince {
                    if clock.now - since > .seconds(5) { break }
                } else {
                    stalledSince = clock.now
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(stalledSince.map { clock.now - $0 > .seconds(5) } == true, "the server kept reading \(written) bytes from a client that reads nothing")
            #expect(written < 64 * 1024 * 1024, "wrote \(written) bytes before the server stopped reading")

            // The connection is still healthy: reading resumes the flow, and the replies are there, in order.
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            var received = 0
            while received < 5 * 8 {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 {
                    if received == 0 { #expect(buffer.starts(with: Array("OK PONG\n".utf8))) }
                    received += count
                } else {
                    try await Task.sleep(for: .milliseconds(10))
                }
            }
        }
        try await loops.shutdownGracefully()
    }

    @Test func aClientThatStopsReadingForTooLongIsDisconnected() async throws {
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        try await withTestServer(configure: { $0.writeStallTimeout = .seconds(2) }, eventLoopGroup: loops) { server in
            let fd = try Self.smallWindowSocket(port: server.port)
            defer { close(fd) }
            let clock = ContinuousClock()
            let deadline = clock.now + .seconds(60)
            while server.server.openConnections == 0, clock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(server.server.openConnections == 1)
            // Send PINGs, never reading a reply, until the server stops taking them (its output is full) or 8 MiB
            // went; then send nothing more and wait for the server to give up on this client. (Not a flood: the
            // event loops are shared with every other test running meanwhile.)
            let chunk = Array(String(repeating: "PING\n", count: 13_000).utf8)
            var written = 0
            var stalledSince: ContinuousClock.Instant?
            while written < 8 * 1024 * 1024, clock.now < deadline {
                let sent = chunk.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if sent > 0 {
                    written += sent
                    stalledSince = nil
                } else if let since = stalledSince {
                    if clock.now - since > .seconds(1) { break }
                } else {
                    stalledSince = clock.now
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            while server.server.openConnections > 0, clock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(server.server.openConnections == 0, "a client that reads nothing is disconnected")
            // And the daemon carries on.
            let other = try await server.connect()
            #expect(try await other.send("PING").payload == "PONG")
        }
        try await loops.shutdownGracefully()
    }
}
