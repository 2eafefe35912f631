import NIOSSL

/// TLS for the protocol listener: the server's certificate chain and key (PEM files), and optionally the CA bundle
/// client certificates must chain to (then every client must present one).
public struct ServerTLS: Sendable, Equatable {
    public var certificateChainPath: String
    public var privateKeyPath: String
    /// When set, a client without a certificate signed by one of these CAs is refused during the handshake.
    public var clientCAPath: String?

    public init(certificateChainPath: String, privateKeyPath: String, clientCAPath: String? = nil) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.clientCAPath = clientCAPath
    }

    /// Reads the files and builds the context; a missing or unreadable file is an error naming it.
    public func makeContext() throws(TLSSetupError) -> NIOSSLContext {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(certificateChainPath)
        } catch {
            throw TLSSetupError("cannot read the TLS certificate chain \(certificateChainPath): \(error)")
        }
        guard !chain.isEmpty else { throw TLSSetupError("no certificate in \(certificateChainPath)") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        } catch {
            throw TLSSetupError("cannot read the TLS private key \(privateKeyPath): \(error)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        if let clientCAPath {
            configuration.certificateVerification = .noHostnameVerification
            configuration.trustRoots = .file(clientCAPath)
        }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw TLSSetupError("the TLS settings are not usable: \(error)")
        }
    }
}

/// TLS could not be set up from the given files.
public struct TLSSetupError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
