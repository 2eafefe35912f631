import Foundation
import MusterCore
import MusterPQ

/// One audit row: who did what to which record, with the record before and after.
public struct AuditEntry: Sendable, Equatable, Codable {
    public let id: Int64
    public let at: Date
    public let actor: String
    public let action: String
    public let entity: String
    public let entityID: Int64?
    public let state: String?
    public let before: String?
    public let after: String?
}

/// Writes and reads the append-only audit log. Writes happen on the caller's connection, inside the caller's
/// transaction, so an audit row exists exactly when the change it describes was committed.
public struct AuditLog: Sendable {
    public init() {}

    public func record(
        _ connection: PGConnection, actor: Identity?, action: String, entity: String, entityID: Int64?,
        state: String?, before: PGJSON?, after: PGJSON?
    ) throws {
        try connection.query(
            """
            INSERT INTO audit_log (actor_token_id, actor_name, action, entity, entity_id, state, before, after)
            VALUES (\(actor?.tokenID), \(actor?.name ?? "system"), \(action), \(entity), \(entityID), \(state),
                    \(before)::jsonb, \(after)::jsonb)
            """)
    }

    /// Entries newest first, optionally for one record and/or one state.
    public func entries(
        _ connection: PGConnection, entity: String?, entityID: Int64?, state: String?, limit: Int
    ) throws -> [AuditEntry] {
        let rows = try connection.query(
            """
            SELECT id, at, actor_name, action, entity, entity_id, state, before::text AS before, after::text AS after
            FROM audit_log
            WHERE (\(entity)::text IS NULL OR entity = \(entity))
              AND (\(entityID)::bigint IS NULL OR entity_id = \(entityID))
              AND (\(state)::text IS NULL OR state = \(state))
            ORDER BY id DESC
            LIMIT \(limit)
            """)
        return try rows.map { row in
            AuditEntry(
                id: try row.decode("id"), at: try row.decode("at"), actor: try row.decode("actor_name"),
                action: try row.decode("action"), entity: try row.decode("entity"), entityID: try row.decode("entity_id"),
                state: try row.decode("state"), before: try row.decode("before"), after: try row.decode("after"))
        }
    }
}
