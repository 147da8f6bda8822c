import Circom
import Circuits
import Foundation

/// Why a circuit definition or a job's inputs were refused; the message names the field.
public struct JobInputError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What a registered circuit is, as the scheduler carries it (opaque bytes in the log):
/// a built-in Merkle circuit's parameters, or a circom circuit's files in the artifact
/// store. Encoded as JSON: `{"hash": "mimc", "depth": 20}` or `{"r1cs": "<sha-256>"}`.
public enum CircuitDefinition: Equatable, Sendable {
    case merkle(hash: MerkleHash, depth: Int)
    /// The `.r1cs` file's digest (lower-case hex SHA-256) in the artifact store.
    case circom(r1cs: String)

    /// The capability a worker needs to run the circuit's jobs.
    public var family: String {
        switch self {
        case .merkle: "merkle"
        case .circom: "circom"
        }
    }

    /// The original API's `circuit_type` for the circuit's jobs.
    public var circuitType: String {
        switch self {
        case .merkle: "merkle_proof"
        case .circom: "circom"
        }
    }

    public var encoded: [UInt8] {
        switch self {
        case .merkle(let hash, let depth): Array("{\"hash\":\"\(hash.rawValue)\",\"depth\":\(depth)}".utf8)
        case .circom(let r1cs): Array("{\"r1cs\":\"\(r1cs)\"}".utf8)
        }
    }

    private struct Document: Decodable {
        var hash: String?
        var depth: Int?
        var r1cs: String?
    }

    /// Reads a definition whose family its fields tell: `r1cs` for circom, otherwise merkle.
    public init(encoded bytes: [UInt8]) throws(JobInputError) {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw JobInputError("the circuit definition is not a JSON object with hash/depth or r1cs: \(error)")
        }
        try self.init(family: document.r1cs == nil ? "merkle" : "circom", encoded: bytes)
    }

    /// Reads a definition of the given family, checking every field.
    public init(family: String, encoded bytes: [UInt8]) throws(JobInputError) {
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw JobInputError("the circuit definition is not a JSON object with hash/depth or r1cs: \(error)")
        }
        switch family {
        case "merkle":
            guard let hashName = document.hash else { throw JobInputError("a merkle circuit needs \"hash\"") }
            guard let hash = MerkleHash(rawValue: hashName) else {
                throw JobInputError("hash \"\(hashName)\" is not one of mimc, poseidon")
            }
            guard let depth = document.depth else { throw JobInputError("a merkle circuit needs \"depth\"") }
            guard (0...MerkleCircuit.maximumDepth).contains(depth) else {
                throw JobInputError("depth \(depth) is outside 0...\(MerkleCircuit.maximumDepth)")
            }
            guard document.r1cs == nil else { throw JobInputError("a merkle circuit takes no \"r1cs\"") }
            self = .merkle(hash: hash, depth: depth)
        case "circom":
            guard let r1cs = document.r1cs else { throw JobInputError("a circom circuit needs \"r1cs\" (a digest)") }
            guard r1cs.count == 64, r1cs.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw JobInputError("r1cs \"\(r1cs.prefix(80))\" is not a lower-case hex SHA-256 digest")
            }
            guard document.hash == nil, document.depth == nil else {
                throw JobInputError("a circom circuit takes no \"hash\" or \"depth\"")
            }
            self = .circom(r1cs: r1cs)
        default:
            throw JobInputError("circuit family \"\(family)\" is not one of merkle, circom")
        }
    }
}

extension CircuitDefinition {
    /// Reads a circom `.r1cs` file to check it before it is stored; returns how many
    /// public inputs the circuit has.
    @discardableResult
    public static func checkR1CS(_ bytes: [UInt8]) throws(JobInputError) -> Int {
        do {
            return try CircomFiles.readR1CS(bytes).publicCount
        } catch {
            throw JobInputError("r1cs: \(error)")
        }
    }
}
