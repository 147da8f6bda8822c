import Crypto
import Foundation

/// Artifacts on the worker's disk, by SHA-256 digest. A file is written under a temporary
/// name and renamed once complete, and its digest is checked whenever it is read, so a
/// torn or damaged file is fetched again rather than used.
public struct ArtifactCache: Sendable {
    public let directory: String

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public static func digest(of bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    private func path(of digest: String) -> String { (directory as NSString).appendingPathComponent(digest) }

    /// The artifact if it is here and intact; a damaged copy is removed.
    public func read(_ digest: String) -> [UInt8]? {
        guard let data = FileManager.default.contents(atPath: path(of: digest)) else { return nil }
        let bytes = Array(data)
        guard Self.digest(of: bytes) == digest else {
            try? FileManager.default.removeItem(atPath: path(of: digest))
            return nil
        }
        return bytes
    }

    public func write(_ bytes: [UInt8], digest: String) throws {
        let temporary = path(of: "\(digest).\(UUID().uuidString).partial")
        try Data(bytes).write(to: URL(fileURLWithPath: temporary))
        do {
            try FileManager.default.moveItem(atPath: temporary, toPath: path(of: digest))
        } catch {
            // Another task stored the same artifact first; its copy is as good as ours.
            try? FileManager.default.removeItem(atPath: temporary)
            guard FileManager.default.fileExists(atPath: path(of: digest)) else { throw error }
        }
    }
}
