import Crypto
import Foundation
import MusterCore
import MusterPQ

/// An API token as stored: everything but the secret, which is never stored (only its SHA-256).
public struct TokenRecord: Sendable, Equatable, Codable {
    public let id: Int64
    public let name: String
    public let role: Role
    public let state: String?
    public let facilityID: Int64?
    /// The first characters of the token, to tell tokens apart in listings.
    public let prefix: String
    public let createdAt: Date
    public let revokedAt: Date?
    public let lastUsedAt: Date?
}

/// A token just created: the secret is here once and nowhere else.
public struct IssuedToken: Sendable {
    public let record: TokenRecord
    /// The secret to hand to its holder. It cannot be shown again.
    public let secret: String
}

/// Why a token could not be created or changed.
public struct TokenError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Creates, looks up, lists and revokes API tokens.
///
/// A token is `mst_` followed by 32 random bytes in base64url (43 characters). Only its SHA-256 is stored;
/// since tokens are long and random, a fast hash is the right one (no password-style stretching is needed).
public struct TokenStore: Sendable {
    static let secretPrefix = "mst_"

    public init() {}

    /// Makes a new secret and its hash.
    static func generateSecret() -> (secret: String, hash: [UInt8]) {
        let key = SymmetricKey(size: .bits256)
        let raw = key.withUnsafeBytes { Data($0) }
        let encoded = raw.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
        let secret = secretPrefix + encoded
        return (secret, hash(secret))
    }

    /// SHA-256 of the token text.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Creates a token for a role and scope.
    public func create(
        _ connection: PGConnection, name: String, role: Role, state: Jurisdiction?, facilityID: Int64?
    ) throws -> IssuedToken {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw TokenError("name: must be 1 to 200 characters")
        }
        switch role {
        case .admin:
            guard state == nil, facilityID == nil else { throw TokenError("an admin token takes no --state or --facility") }
        case .state:
            guard state != nil else { throw TokenError("a state token needs --state (a two-letter code such as NY)") }
            guard facilityID == nil else { throw TokenError("a state token takes no --facility") }
        case .hospital:
            guard facilityID != nil, state == nil else {
                throw TokenError("a hospital token needs --facility ID (and no --state)")
            }
        }
        let (secret, digest) = Self.generateSecret()
        let prefix = String(secret.prefix(Self.secretPrefix.count + 6))
        let rows: PGRows
        do {
            rows = try connection.query(
                """
                INSERT INTO api_tokens (name, role, state, facility_id, token_hash, token_prefix)
                VALUES (\(trimmed), \(role.rawValue), \(state?.code), \(facilityID), \(PGBytes(digest)), \(prefix))
                RETURNING \(unescaped: Self.columns)
                """)
        } catch let error as PGError where error.kind == .foreignKeyViolation {
            // A hospital token is scoped to a facility that exists (`api_tokens_facility_exists`).
            throw TokenError("no facility \(facilityID ?? 0); create it first (FACILITY.CREATE)")
        }
        return IssuedToken(record: try Self.record(rows[0]), secret: secret)
    }

    /// The identity a secret stands for, or nil when it is unknown or revoked. Marks the token used.
    public func authenticate(_ connection: PGConnection, secret: String) throws -> Identity? {
        guard secret.hasPrefix(Self.secretPrefix), secret.utf8.count < 200 else { return nil }
        let rows = try connection.query(
            """
            UPDATE api_tokens SET last_used_at = now()
            WHERE token_hash = \(PGBytes(Self.hash(secret))) AND revoked_at IS NULL
            RETURNING \(unescaped: Self.columns)
            """)
        guard let row = rows.first else { return nil }
        let record = try Self.record(row)
        return Identity(
            tokenID: record.id, name: record.name, role: record.role,
            jurisdiction: record.state.flatMap(Jurisdiction.init), facilityID: record.facilityID)
    }

    /// True when the token is still valid (not revoked).
    public func isActive(_ connection: PGConnection, tokenID: Int64) throws -> Bool {
        let rows = try connection.query("SELECT 1 FROM api_tokens WHERE id = \(tokenID) AND revoked_at IS NULL")
        return !rows.isEmpty
    }

    /// All tokens, newest first.
    public func list(_ connection: PGConnection, includeRevoked: Bool = true) throws -> [TokenRecord] {
        let rows = try connection.query(
            """
            SELECT \(unescaped: Self.columns) FROM api_tokens
            WHERE \(includeRevoked) OR revoked_at IS NULL
            ORDER BY id DESC
            """)
        return try rows.map(Self.record)
    }

    /// Revokes a token; returns the record, or nil when there is no such token. Revoking twice keeps the first time.
    public func revoke(_ connection: PGConnection, id: Int64) throws -> TokenRecord? {
        let rows = try connection.query(
            """
            UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())
            WHERE id = \(id)
            RETURNING \(unescaped: Self.columns)
            """)
        return try rows.first.map(Self.record)
    }

    static let columns = "id, name, role, state, facility_id, token_prefix, created_at, revoked_at, last_used_at"

    static func record(_ row: PGRow) throws -> TokenRecord {
        let roleText: String = try row.decode("role")
        guard let role = Role(rawValue: roleText) else {
            throw PGError(.decoding, message: "unknown role \(roleText) in api_tokens")
        }
        return TokenRecord(
            id: try row.decode("id"), name: try row.decode("name"), role: role, state: try row.decode("state"),
            facilityID: try row.decode("facility_id"), prefix: try row.decode("token_prefix"),
            createdAt: try row.decode("created_at"), revokedAt: try row.decode("revoked_at"),
            lastUsedAt: try row.decode("last_used_at"))
    }
}
