import Foundation
import MusterClient
import MusterCluster
import MusterCore
import MusterServer
import MusterTestSupport
import Testing

/// The protocol listener over TLS, with certificates made for the test by `openssl`: a CA, a server certificate
/// for localhost, a client certificate, and a second, untrusted CA.
@Suite struct TLSTests {
    struct Files {
        let directory: String
        var ca: String { directory + "/ca.crt" }
        var otherCA: String { directory + "/other-ca.crt" }
        var serverCertificate: String { directory + "/server.crt" }
        var serverKey: String { directory + "/server.key" }
        var clientCertificate: String { directory + "/client.crt" }
        var clientKey: String { directory + "/client.key" }
        var strangerCertificate: String { directory + "/stranger.crt" }
        var strangerKey: String { directory + "/stranger.key" }
    }

    static func openssl(_ arguments: [String], in directory: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw TestSupportError("openssl \(arguments.joined(separator: " ")) failed") }
    }

    static func makeCertificates() throws -> Files {
        let directory = NSTemporaryDirectory() + "muster-tls-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for ca in ["ca", "other-ca"] {
            try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(ca).key", "-out", "\(ca).crt", "-days", "2", "-subj", "/CN=Muster test \(ca)"], in: directory)
        }
        try "subjectAltName=DNS:localhost\n".write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
        for (name, ca, ext) in [("server", "ca", true), ("client", "ca", false), ("stranger", "other-ca", false)] {
            try openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)"], in: directory)
            try openssl(
                ["x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).crt", "-CAkey", "\(ca).key", "-CAcreateserial", "-out", "\(name).crt", "-days", "2"]
                    + (ext ? ["-extfile", "server.ext"] : []), in: directory)
        }
        return Files(directory: directory)
    }

    @Test func theListenerSpeaksTLSAndRefusesWhatItCannotTrust() async throws {
        let files = try await blocking { try Self.makeCertificates() }
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        try await withTestServer(configure: {
            $0.tls = ServerTLS(certificateChainPath: files.serverCertificate, privateKeyPath: files.serverKey)
        }) { server in
            let token = try await server.makeToken(role: .admin)
            // Verified by name, and by IP address.
            for name in ["localhost", nil] {
                let client = try await MusterClient.connect(
                    host: "127.0.0.1", port: server.port, tls: ClientTLS(trustRootsPath: files.ca, serverName: name))
                #expect(try await client.send("PING").payload == "PONG")
                #expect(try await client.send("AUTH \(token)").isOK)
                #expect(try await client.send("VOLUNTEER.FUNNEL").isOK)
                await client.close()
            }
            // A client that trusts another CA does not get through the handshake.
            let doubtful = try? await MusterClient.connect(host: "127.0.0.1", port: server.port, tls: ClientTLS(trustRootsPath: files.otherCA))
            #expect((try? await doubtful?.send("PING")) == nil)
            // Nor does one checking for a name the certificate does not carry.
            let misnamed = try? await MusterClient.connect(
                host: "127.0.0.1", port: server.port, tls: ClientTLS(trustRootsPath: files.ca, serverName: "muster.example.org"))
            #expect((try? await misnamed?.send("PING")) == nil)
            // Plain TCP on the TLS port gets no answer, only a close; the server carries on.
            let plain = try await server.connect()
            try await plain.write("PING")
            #expect(await plain.readLine() == nil)
            let again = try await MusterClient.connect(host: "127.0.0.1", port: server.port, tls: ClientTLS(trustRootsPath: files.ca))
            #expect(try await again.send("PING").payload == "PONG")
            // musterctl speaks TLS too.
            let argv = [
                try RepositoryPaths.executable("musterctl"),
                "ping", "--address", "127.0.0.1:\(server.port)", "--tls-ca", files.ca, "--tls-server-name", "localhost",
            ]
            let (status, printed) = try await blocking { try ChildProcess.run(argv) }
            #expect(status == 0, "\(printed)")
            #expect(printed.hasPrefix("PONG in "), "\(printed)")
        }
    }

    @Test func clientCertificatesCanBeRequired() async throws {
        let files = try await blocking { try Self.makeCertificates() }
        defer { try? FileManager.default.removeItem(atPath: files.directory) }
        try await withTestServer(configure: {
            $0.tls = ServerTLS(certificateChainPath: files.serverCertificate, privateKeyPath: files.serverKey, clientCAPath: files.ca)
        }) { server in
            let withCertificate = try await MusterClient.connect(
                host: "127.0.0.1", port: server.port,
                tls: ClientTLS(trustRootsPath: files.ca, certificatePath: files.clientCertificate, privateKeyPath: files.clientKey))
            #expect(try await withCertificate.send("PING").payload == "PONG")
            let without = try? await MusterClient.connect(host: "127.0.0.1", port: server.port, tls: ClientTLS(trustRootsPath: files.ca))
            #expect((try? await without?.send("PING")) == nil)
            let stranger = try? await MusterClient.connect(
                host: "127.0.0.1", port: server.port,
                tls: ClientTLS(trustRootsPath: files.ca, certificatePath: files.strangerCertificate, privateKeyPath: files.strangerKey))
            #expect((try? await stranger?.send("PING")) == nil)
            #expect(try await withCertificate.send("PING").payload == "PONG")
        }
    }

    @Test func unreadableFilesAreNamed() {
        let missing = ServerTLS(certificateChainPath: "/nonexistent/server.crt", privateKeyPath: "/nonexistent/server.key")
        #expect(throws: TLSSetupError.self) { try missing.makeContext() }
        do {
            _ = try missing.makeContext()
        } catch {
            #expect(error.message.hasPrefix("cannot read the TLS certificate chain /nonexistent/server.crt"))
        }
    }
}
