import Logging
import NIOCore
import SQLiteNIO

/// An SQLite database file (the embedded store of `zkp dev`) through sqlite-nio.
///
/// One connection, used by one operation at a time: SQLite serialises writers anyway,
/// and a transaction must not interleave with other statements on its connection.
public final class SQLiteDatabase: SQLDatabase {
    public let dialect = SQLDialect.sqlite
    private let connection: SQLiteConnection
    private let gate = SerialGate()

    private init(connection: SQLiteConnection) { self.connection = connection }

    /// Opens (creating if needed) the database file at `path`, or an in-memory database
    /// for `nil`.
    public static func open(path: String?, logger: Logger) async throws -> SQLiteDatabase {
        let connection = try await SQLiteConnection.open(
            storage: path.map { .file(path: $0) } ?? .memory, logger: logger)
        let database = SQLiteDatabase(connection: connection)
        // WAL lets readers proceed during a write; foreign keys are off by default in SQLite.
        if path != nil { _ = try await database.query(SQLStatement("PRAGMA journal_mode = WAL")) }
        try await database.execute("PRAGMA foreign_keys = ON")
        try await database.execute("PRAGMA busy_timeout = 5000")
        return database
    }

    public func close() async throws { try await connection.close() }

    public func query(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await gate.run { try await self.run(statement) }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        try await gate.run {
            _ = try await self.run(SQLStatement("BEGIN IMMEDIATE"))
            do {
                for statement in statements { _ = try await self.run(statement) }
                _ = try await self.run(SQLStatement("COMMIT"))
            } catch {
                _ = try? await self.run(SQLStatement("ROLLBACK"))
                throw error
            }
        }
    }

    private func run(_ statement: SQLStatement) async throws -> [SQLRow] {
        let binds = statement.binds.map { value -> SQLiteData in
            switch value {
            case .null: .null
            case .integer(let integer): .integer(Int(integer))
            case .text(let text): .text(text)
            case .blob(let bytes): .blob(ByteBuffer(bytes: bytes))
            }
        }
        let collected = RowCollector()
        try await connection.query(Self.sqliteParameters(statement.sql), binds) { row in collected.append(row) }
        return collected.rows.map { row in
            var values: [String: SQLValue] = [:]
            for column in row.columns {
                switch column.data {
                case .integer(let integer): values[column.name] = .integer(Int64(integer))
                case .float(let double): values[column.name] = .integer(Int64(double))
                case .text(let text): values[column.name] = .text(text)
                case .blob(let buffer): values[column.name] = .blob(Array(buffer: buffer))
                case .null: values[column.name] = .null
                }
            }
            return SQLRow(values: values)
        }
    }

    /// `$1` → `?1`: SQLite reads `$1` as a parameter *named* "$1", whose number is its order
    /// of first appearance; `?NNN` is numbered explicitly, as PostgreSQL's `$NNN` is.
    static func sqliteParameters(_ sql: String) -> String {
        var result = ""
        result.reserveCapacity(sql.utf8.count)
        var previous: Character = " "
        for character in sql {
            if previous == "$" && character.isNumber {
                result.removeLast()
                result.append("?")
            }
            result.append(character)
            previous = character
        }
        return result
    }
}

/// Rows handed over from sqlite-nio's thread pool callback.
private final class RowCollector: @unchecked Sendable {
    // Written by one callback at a time on the pool thread, read after the query returns.
    var rows: [SQLiteRow] = []
    func append(_ row: SQLiteRow) { rows.append(row) }
}

/// Runs async operations one at a time, in arrival order.
actor SerialGate {
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func run<T: Sendable>(_ operation: @Sendable () async throws -> T) async throws -> T {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        }
        busy = true
        defer {
            if waiters.isEmpty { busy = false } else { waiters.removeFirst().resume() }
        }
        return try await operation()
    }
}
