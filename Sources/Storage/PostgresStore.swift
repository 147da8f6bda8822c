import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import Synchronization

/// A PostgreSQL database through postgres-nio's connection pool. The owner runs `run()`
/// (it drives the pool) for as long as the database is used.
public final class PostgresDatabase: SQLDatabase {
    public let dialect = SQLDialect.postgres
    public let client: PostgresClient
    private let logger: Logger
    /// How long one query may take, waiting for a connection included; a transaction gets
    /// this plus 50 ms a statement. While the server is down the pool keeps trying to
    /// connect, so without a bound a caller would wait for as long as the outage lasts.
    public let operationTimeout: Duration

    public init(configuration: PostgresClient.Configuration, operationTimeout: Duration = .seconds(5), logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.operationTimeout = operationTimeout
        self.logger = logger
    }

    /// A pool of `minimumConnections…maximumConnections` connections to one server.
    public convenience init(
        host: String, port: Int, database: String, user: String, password: String?, requireTLS: Bool,
        maximumConnections: Int, minimumConnections: Int, logger: Logger
    ) {
        var configuration = PostgresClient.Configuration.zkp(
            host: host, port: port, database: database, user: user, password: password, requireTLS: requireTLS)
        configuration.options.maximumConnections = maximumConnections
        configuration.options.minimumConnections = minimumConnections
        self.init(configuration: configuration, logger: logger)
    }

    /// Drives the connection pool until the surrounding task is cancelled.
    public func run() async { await client.run() }

    public func query(_ statement: SQLStatement) async throws -> [SQLRow] {
        let (client, logger) = (self.client, self.logger)
        return try await Self.bounded(by: operationTimeout, "query") {
            try await Self.rows(of: try await client.query(Self.postgresQuery(statement), logger: logger))
        }
    }

    public func transaction(_ statements: [SQLStatement]) async throws {
        let (client, logger) = (self.client, self.logger)
        try await Self.bounded(by: operationTimeout + .milliseconds(50) * statements.count, "transaction") {
            try await client.withTransaction(logger: logger) { connection in
                for statement in statements {
                    _ = try await connection.query(Self.postgresQuery(statement), logger: logger)
                }
            }
        }
    }

    /// The operation's result, or `StorageError.timedOut` once `limit` passes. The
    /// operation is cancelled then, and left to finish in the background if it does not
    /// notice, so the caller is never held past the limit.
    static func bounded<T: Sendable>(
        by limit: Duration, _ what: String, _ operation: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let settled = SettledFlag()
        let work = Task { try await operation() }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Task {
                let result = await work.result
                if settled.settle() { continuation.resume(with: result) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if settled.settle() {
                    work.cancel()
                    continuation.resume(throwing: StorageError.timedOut("PostgreSQL \(what) took longer than \(limit)"))
                }
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

/// True for the first caller of `settle()` only: who answers a bounded operation.
final class SettledFlag: Sendable {
    private let flag = Atomic(false)
    func settle() -> Bool { !flag.exchange(true, ordering: .acquiringAndReleasing) }
}
