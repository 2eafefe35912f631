import CLibPQ

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One `NOTIFY` delivered to a connection that `LISTEN`s on its channel.
public struct PGNotification: Sendable, Equatable {
    /// The channel it was sent on.
    public let channel: String
    /// The payload text (empty when none was given).
    public let payload: String
    /// The process id of the backend that sent it.
    public let senderPID: Int32

    public init(channel: String, payload: String, senderPID: Int32) {
        self.channel = channel
        self.payload = payload
        self.senderPID = senderPID
    }
}

extension PGConnection {
    /// Starts listening on `channel`. The name must be a plain lower-case identifier (it cannot be a parameter).
    public func listen(_ channel: String) throws {
        guard let first = channel.utf8.first, (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(first),
            channel.utf8.allSatisfy({ byte in
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: "_")
            }), channel.utf8.count <= 63
        else {
            throw PGError(.client, message: "channel name \"\(channel)\" is not a plain lower-case identifier")
        }
        try executeScript("LISTEN \(channel)")
    }

    /// Waits up to `timeoutMilliseconds` for notifications and returns every one that has arrived (possibly none).
    ///
    /// Blocks its thread (it polls the connection's socket), so run it on a thread of its own, never on an event
    /// loop. A lost connection throws `PGError` of kind `.connectionLost`.
    public func waitForNotifications(timeoutMilliseconds: Int32) throws -> [PGNotification] {
        assertNotOnEventLoop()
        let handle = try rawHandle()
        var received = drainNotifications(handle)
        if !received.isEmpty { return received }
        let socket = PQsocket(handle)
        guard socket >= 0 else { throw PGError(.connectionLost, message: "connection has no socket") }
        var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMilliseconds)
        if ready < 0 {
            if errno == EINTR { return [] }
            throw PGError(.connectionLost, message: "poll failed: errno \(errno)")
        }
        if ready == 0 { return [] }
        guard PQconsumeInput(handle) == 1 else {
            let message = String(cString: PQerrorMessage(handle))
            throw PGError(.connectionLost, message: message.isEmpty ? "connection lost" : message)
        }
        received = drainNotifications(handle)
        return received
    }

    private func drainNotifications(_ handle: OpaquePointer) -> [PGNotification] {
        var received: [PGNotification] = []
        while let raw = PQnotifies(handle) {
            let notice = raw.pointee
            received.append(
                PGNotification(
                    channel: String(cString: notice.relname), payload: notice.extra.map { String(cString: $0) } ?? "",
                    senderPID: notice.be_pid))
            PQfreemem(raw)
        }
        return received
    }
}
