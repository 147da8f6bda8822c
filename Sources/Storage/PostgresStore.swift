import Logging
import NIOCore
import NIOSSL
import PostgresNIO

/// A PostgreSQL database through postgres-nio's connection pool. The owner runs `run()`
/// (it drives the pool) for as long as the database is used.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    public let client: PostgresClient
    private let logger: Logger

    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    /// Drives the connection pool until the surrounding task is cancelled.
    public func run() async { await client.run() }

    public func query(_ statement: SQLStatement) async throws -> [SQLRow] {
        try await Self.rows(of: try await client.query(Self.postgresQuery(statement), logger: logger))
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        try await client.withTransaction(logger: logger) { connection in
            for statement in statements {
                _ = try await connection.query(Self.postgresQuery(statement), logger: logger)
            }
        }
    }

    static func postgresQuery(_ statement: SQLStatement) -> PostgresQuery {
        var binds = PostgresBindings(capacity: statement.binds.count)
        for value in statement.binds {
            switch value {
            case .null: binds.appendNull()
            case .integer(let integer): binds.append(integer)
            case .text(let text): binds.append(text)
            case .blob(let bytes): binds.append(ByteBuffer(bytes: bytes))
            }
        }
        return PostgresQuery(unsafeSQL: statement.sql, binds: binds)
    }

    static func rows(of sequence: PostgresRowSequence) async throws -> [SQLRow] {
        var rows: [SQLRow] = []
        for try await row in sequence {
            var values: [String: SQLValue] = [:]
            for cell in row {
                values[cell.columnName] = try value(of: cell)
            }
            rows.append(SQLRow(values: values))
        }
        return rows
    }

    private static func value(of cell: PostgresCell) throws -> SQLValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return .integer(try cell.decode(Int64.self))
        case .bool: return .integer(try cell.decode(Bool.self) ? 1 : 0)
        case .bytea: return .blob(Array(buffer: try cell.decode(ByteBuffer.self)))
        default: return .text(try cell.decode(String.self))
        }
    }
}

extension PostgresClient.Configuration {
    /// A configuration from the `database.*` keys, with TLS off or required.
    public static func zkp(
        host: String, port: Int, database: String, user: String, password: String?, requireTLS: Bool
    ) -> PostgresClient.Configuration {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: requireTLS ? .require(TLSConfiguration.makeClientConfiguration()) : .disable)
        configuration.options.connectTimeout = Duration.seconds(5)
        return configuration
    }
}
