/// A job's id, chosen by the leader when it proposes the submission (a UUID in
/// lower-case text form, which is what the HTTP API validates).
public struct JobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: JobID, b: JobID) -> Bool { a.rawValue < b.rawValue }
}

/// A worker's self-chosen id (`worker.id` in its config), unique in the cluster.
public struct WorkerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: WorkerID, b: WorkerID) -> Bool { a.rawValue < b.rawValue }
}

/// A registered circuit's id (for example `merkle-mimc-20`, or one an operator chose
/// when uploading a circom `.r1cs`).
public struct CircuitID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }
    public static func < (a: CircuitID, b: CircuitID) -> Bool { a.rawValue < b.rawValue }
}

/// A wall-clock instant in milliseconds since the Unix epoch. Every instant in the
/// scheduler's state was written into a command by the leader that proposed it.
public struct Timestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let milliseconds: Int64
    public init(milliseconds: Int64) { self.milliseconds = milliseconds }
    public var description: String { "\(milliseconds) ms" }
    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.milliseconds < b.milliseconds }

    /// This instant moved by `milliseconds` (saturating, so a huge configured duration
    /// means "never" rather than a trap).
    public func adding(milliseconds delta: Int64) -> Timestamp {
        let (sum, overflow) = milliseconds.addingReportingOverflow(delta)
        return Timestamp(milliseconds: overflow ? (delta > 0 ? .max : .min) : sum)
    }
}

/// A SHA-256 digest naming an artifact (a proving key, a verification key, a circuit file).
public struct ArtifactDigest: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The 32 digest bytes.
    public let bytes: [UInt8]

    /// Fails unless `bytes` has exactly 32 elements.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// Parses 64 hexadecimal digits (either case).
    public init?(hex: String) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for pair in stride(from: 0, to: 64, by: 2) {
            guard let high = hexValue(digits[pair]), let low = hexValue(digits[pair + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    /// Lower-case hexadecimal, the form used in file names, SQL and JSON.
    public var hex: String {
        let alphabet = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(64)
        for byte in bytes {
            text.append(alphabet[Int(byte >> 4)])
            text.append(alphabet[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    public var description: String { hex }
    public static func < (a: ArtifactDigest, b: ArtifactDigest) -> Bool { a.bytes.lexicographicallyPrecedes(b.bytes) }
}

private func hexValue(_ digit: UInt8) -> UInt8? {
    switch digit {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
    default: nil
    }
}
