/// The rows a statement returned, copied out of libpq into Swift values so they may cross threads.
public struct PGRows: Sendable, RandomAccessCollection {
    /// Column names in result order.
    public let columns: [String]
    /// Rows affected by INSERT/UPDATE/DELETE (or returned by SELECT), as the server reported.
    public let affectedRows: Int
    let values: [String?]
    let columnIndex: [String: Int]

    init(columns: [String], values: [String?], affectedRows: Int) {
        self.columns = columns
        self.values = values
        self.affectedRows = affectedRows
        var index: [String: Int] = [:]
        for (position, name) in columns.enumerated() where index[name] == nil { index[name] = position }
        self.columnIndex = index
    }

    /// An empty result (a command with no rows).
    static func command(affectedRows: Int) -> PGRows {
        PGRows(columns: [], values: [], affectedRows: affectedRows)
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { columns.isEmpty ? 0 : values.count / columns.count }

    public subscript(position: Int) -> PGRow {
        PGRow(rows: self, offset: position * columns.count)
    }
}

/// One row of a `PGRows`; decode its columns by name or position.
public struct PGRow: Sendable {
    let rows: PGRows
    let offset: Int

    /// The raw text of a column, nil for NULL.
    public func text(_ index: Int) -> String? { rows.values[offset + index] }

    /// Decodes the column at `index`.
    public func decode<T: PGDecodable>(_ index: Int, as type: T.Type = T.self) throws -> T {
        guard index >= 0, index < rows.columns.count else {
            throw PGError(.decoding, message: "no column at index \(index)")
        }
        do {
            if let text = rows.values[offset + index] { return try T.pgDecode(text) }
            return try T.pgDecodeNull()
        } catch var error as PGError {
            error.message = "column \(rows.columns[index]): \(error.message)"
            throw error
        }
    }

    /// Decodes the column named `column`.
    public func decode<T: PGDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = rows.columnIndex[column] else {
            throw PGError(.decoding, message: "no column named \(column)")
        }
        return try decode(index, as: type)
    }
}
