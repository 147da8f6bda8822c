import Crypto
import Scheduler

/// Content-addressed blobs (proving keys, verification keys, circuit files) in the SQL
/// store, split into chunks so no single row or message has to hold a whole proving key.
public struct ArtifactStore: Sendable {
    public let database: any SQLDatabase
    /// Bytes per stored chunk (and per streamed message).
    public let chunkSize: Int

    public init(database: any SQLDatabase, chunkSize: Int = 1 << 20) {
        self.database = database
        self.chunkSize = chunkSize
    }

    public static func digest(of bytes: [UInt8]) -> ArtifactDigest {
        ArtifactDigest(bytes: Array(SHA256.hash(data: bytes)))!
    }

    /// Stores `bytes` under their SHA-256 and returns it; storing the same bytes again
    /// changes nothing.
    @discardableResult
    public func put(_ bytes: [UInt8], at instant: Timestamp) async throws -> ArtifactDigest {
        let digest = Self.digest(of: bytes)
        if try await size(of: digest) != nil { return digest }
        let chunkCount = (bytes.count + chunkSize - 1) / chunkSize
        var statements = [
            SQLStatement(
                """
                INSERT INTO artifacts (digest, size, chunk_count, created_at_ms) VALUES ($1, $2, $3, $4)
                ON CONFLICT (digest) DO NOTHING
                """,
                [
                    .text(digest.hex), .integer(Int64(bytes.count)), .integer(Int64(chunkCount)),
                    .integer(instant.milliseconds),
                ])
        ]
        for chunk in 0..<chunkCount {
            let range = chunk * chunkSize..<min(bytes.count, (chunk + 1) * chunkSize)
            statements.append(
                SQLStatement(
                    "INSERT INTO artifact_chunks (digest, chunk, data) VALUES ($1, $2, $3) ON CONFLICT (digest, chunk) DO NOTHING",
                    [.text(digest.hex), .integer(Int64(chunk)), .blob(Array(bytes[range]))]))
        }
        try await database.transaction(statements)
        return digest
    }

    /// The artifact's size in bytes, or nil if it is not stored.
    public func size(of digest: ArtifactDigest) async throws -> Int? {
        let rows = try await database.query(
            SQLStatement("SELECT size FROM artifacts WHERE digest = $1", [.text(digest.hex)]))
        return try rows.first.map { Int(try $0.integer("size")) }
    }

    /// The number of stored chunks, for streaming.
    public func chunkCount(of digest: ArtifactDigest) async throws -> Int? {
        let rows = try await database.query(
            SQLStatement("SELECT chunk_count FROM artifacts WHERE digest = $1", [.text(digest.hex)]))
        return try rows.first.map { Int(try $0.integer("chunk_count")) }
    }

    /// One stored chunk.
    public func chunk(_ index: Int, of digest: ArtifactDigest) async throws -> [UInt8]? {
        let rows = try await database.query(
            SQLStatement(
                "SELECT data FROM artifact_chunks WHERE digest = $1 AND chunk = $2",
                [.text(digest.hex), .integer(Int64(index))]))
        return rows.first?["data"].blob
    }

    /// The whole artifact, checked against its digest; nil if it is not stored.
    public func get(_ digest: ArtifactDigest) async throws -> [UInt8]? {
        guard let size = try await size(of: digest) else { return nil }
        let rows = try await database.query(
            SQLStatement("SELECT data FROM artifact_chunks WHERE digest = $1 ORDER BY chunk", [.text(digest.hex)]))
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for row in rows {
            guard let data = row["data"].blob else { throw StorageError.unexpectedColumn("data", row["data"]) }
            bytes.append(contentsOf: data)
        }
        guard bytes.count == size, Self.digest(of: bytes) == digest else {
            throw StorageError.artifactCorrupt(digest: digest.hex)
        }
        return bytes
    }
}
