/// A value bound into, or read out of, a SQL statement. The projection uses only these
/// types, which both PostgreSQL and SQLite store exactly: instants are integer
/// milliseconds since the Unix epoch (UTC), JSON documents are text.
public enum SQLValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    public var integer: Int64? { if case .integer(let value) = self { value } else { nil } }
    public var text: String? { if case .text(let value) = self { value } else { nil } }
    public var blob: [UInt8]? { if case .blob(let value) = self { value } else { nil } }
    public var isNull: Bool { self == .null }
}

/// One statement with its parameters, written `$1`, `$2`, … in the order they are bound.
public struct SQLStatement: Sendable {
    public var sql: String
    public var binds: [SQLValue]

    public init(_ sql: String, _ binds: [SQLValue] = []) {
        self.sql = sql
        self.binds = binds
    }
}

/// A result row: column name to value.
public struct SQLRow: Sendable {
    public var values: [String: SQLValue]

    public subscript(column: String) -> SQLValue { values[column] ?? .null }

    /// The column as an integer, or an error naming the column.
    public func integer(_ column: String) throws(StorageError) -> Int64 {
        guard let value = self[column].integer else { throw .unexpectedColumn(column, self[column]) }
        return value
    }

    public func text(_ column: String) throws(StorageError) -> String {
        guard let value = self[column].text else { throw .unexpectedColumn(column, self[column]) }
        return value
    }
}

/// The SQL engines the store runs on; each spells a few column types its own way.
public enum SQLDialect: String, Sendable {
    case postgres
    case sqlite

    /// The column type for byte strings.
    var blobType: String { self == .postgres ? "BYTEA" : "BLOB" }
}

/// What the projection needs from a database: statements, queries, and batches that
/// apply atomically. Implemented over postgres-nio and sqlite-nio.
public protocol SQLDatabase: Sendable {
    var dialect: SQLDialect { get }
    func query(_ statement: SQLStatement) async throws -> [SQLRow]
    /// Runs every statement, in order, in one transaction: all take effect or none.
    func transaction(_ statements: [SQLStatement]) async throws
}

extension SQLDatabase {
    public func execute(_ sql: String, _ binds: [SQLValue] = []) async throws {
        _ = try await query(SQLStatement(sql, binds))
    }
}

/// Why a store operation failed.
public enum StorageError: Error, Equatable, CustomStringConvertible {
    /// A column held a value of the wrong type, or NULL where a value belongs.
    case unexpectedColumn(String, SQLValue)
    /// The database holds a schema version this build does not know.
    case unknownSchemaVersion(Int64, newest: Int)
    case invalidMigrationTarget(Int, newest: Int)
    /// Bytes stored under a digest do not hash to it.
    case artifactCorrupt(digest: String)
    case invalidConfiguration(String)
    /// A list cursor this server did not issue.
    case invalidCursor(String)
    /// A stored value that cannot be read back (a status string no build wrote, say).
    case corruptRow(String)
    /// The database did not answer in time (it may be down).
    case timedOut(String)

    public var description: String {
        switch self {
        case .unexpectedColumn(let column, let value): "column \(column) holds \(value)"
        case .unknownSchemaVersion(let version, let newest):
            "the database's schema is at version \(version), newer than this build's \(newest)"
        case .invalidMigrationTarget(let target, let newest): "no schema version \(target) (versions are 0–\(newest))"
        case .artifactCorrupt(let digest): "artifact \(digest) does not match its digest"
        case .timedOut(let what): what
        case .invalidConfiguration(let reason): "invalid database configuration: \(reason)"
        case .invalidCursor(let cursor): "cursor \"\(cursor.prefix(80))\" is not one this server issued"
        case .corruptRow(let reason): "corrupt row: \(reason)"
        }
    }
}
