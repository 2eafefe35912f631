import MusterCore

/// A volunteer CSV file made into the rows of `VOLUNTEER.IMPORT` requests, one batch at a time.
///
/// Batches are made on demand, so a large file is converted while the batches before are being stored, and only
/// the batches in flight are held as JSON. `musterctl volunteers import` and the benchmark both send files this way.
public struct ImportBatches: Sendable {
    /// One row ready to send: `{"line":n,"registration":{…}}`.
    public struct Row: Sendable {
        public let line: Int
        public let json: String
    }

    /// A row that could not be made into a registration: its line, the CSV column, and why.
    public struct Problem: Sendable, Equatable {
        public let line: Int
        public let column: String
        public let rule: String

        public init(line: Int, column: String, rule: String) {
            self.line = line
            self.column = column
            self.rule = rule
        }
    }

    /// Rows to send (possibly none) and the problems found among the rows read for them.
    public struct Batch: Sendable {
        public var rows: [Row] = []
        public var problems: [Problem] = []
        /// The rows' JSON, comma-separated, the size that counts against the line limit.
        var bytes = 0
    }

    /// Why a file cannot be imported at all.
    public struct FileError: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    private var reader: CSVReader
    private let header: [String]
    private let maxBytes: Int
    private let maxRows: Int
    private var carried: Row?
    private var finished = false

    /// Reads the header row. `maxBatchBytes` bounds the rows' JSON in one batch (the request line limit less room
    /// for the envelope); a row longer than that still goes, alone, and the server names it.
    public init(csv bytes: [UInt8], maxBatchBytes: Int, maxRows: Int = ImportEnvelope.maxRows) throws(FileError) {
        reader = CSVReader(bytes)
        self.maxBytes = maxBatchBytes
        self.maxRows = max(1, maxRows)
        let first: [String]?
        do throws(FieldError) {
            first = try reader.next()
        } catch {
            throw FileError(description: error.description)
        }
        guard let first else { throw FileError(description: "the file is empty") }
        header = first.map(\.trimmingWhitespace)
        let problems = VolunteerCSV.validateHeader(header)
        guard problems.isEmpty else { throw FileError(description: "header: " + problems.joined(separator: "; ")) }
    }

    /// How much of the file has been read, from 0 to 1.
    public var fractionRead: Double { reader.fractionRead }

    /// The `VOLUNTEER.IMPORT` request line that sends `rows`, registering in `registeringState` when one is given
    /// (an admin token must give one).
    public static func requestLine(_ rows: [Row], registeringState: Jurisdiction?) -> String {
        var line = "VOLUNTEER.IMPORT {\"rows\":[" + rows.map(\.json).joined(separator: ",") + "]"
        if let registeringState { line += ",\"registeringState\":\"\(registeringState.code)\"" }
        return line + "}"
    }

    /// The next batch, nil once the file is done. A batch may hold problems only.
    public mutating func next() -> Batch? {
        guard !finished || carried != nil else { return nil }
        var batch = Batch()
        if let row = carried {
            carried = nil
            batch.rows.append(row)
            batch.bytes = row.json.utf8.count
        }
        while !finished, batch.rows.count < maxRows {
            let cells: [String]?
            do throws(FieldError) {
                cells = try reader.next()
            } catch {
                // Framing is lost after a malformed record: report it and stop reading.
                batch.problems.append(Problem(line: reader.line, column: "row", rule: error.rule))
                finished = true
                break
            }
            guard let cells, !cells.isEmpty else {
                finished = true
                break
            }
            if cells.count == 1, cells[0].trimmingWhitespace.isEmpty { continue }
            let (registration, errors) = VolunteerCSV.registration(header: header, cells: cells)
            batch.problems += errors.map { Problem(line: reader.line, column: $0.field, rule: $0.rule) }
            guard let registration else { continue }
            var json = "{\"line\":\(reader.line),\"registration\":"
            registration.write(into: &json)
            json += "}"
            let row = Row(line: reader.line, json: json)
            let size = batch.rows.isEmpty ? row.json.utf8.count : batch.bytes + 1 + row.json.utf8.count
            if !batch.rows.isEmpty, size > maxBytes {
                carried = row
                break
            }
            batch.rows.append(row)
            batch.bytes = size
        }
        return batch.rows.isEmpty && batch.problems.isEmpty ? nil : batch
    }
}

/// One `ImportBatches` shared by several senders, each asking for its next batch.
///
/// An actor rather than a lock: converting a batch of 1,000 rows takes tens of milliseconds, and senders waiting
/// their turn are suspended instead of holding threads that the replies of the batches in flight need.
public actor ImportBatchQueue {
    private var source: ImportBatches
    /// Every row so far that could not be made into a registration.
    public private(set) var problems: [ImportBatches.Problem] = []

    public init(_ source: ImportBatches) {
        self.source = source
    }

    /// The next batch and how much of the file has been read by then; nil at the end of the file. The batch's
    /// problems are also kept in `problems`.
    public func next() -> (batch: ImportBatches.Batch, fractionRead: Double)? {
        guard let batch = source.next() else { return nil }
        problems += batch.problems
        return (batch, source.fractionRead)
    }
}
