import BN254
import Circom
import Circuits
import Foundation

/// A job's inputs, as clients send them (JSON), read and checked before anything is
/// committed and again by the worker that proves.
public enum JobInputs {
    /// The original API's Merkle request: leaves as hex and the index of the leaf to prove.
    struct LeafRequest: Decodable {
        var leaves: [String]
        var leafIndex: Int?

        enum CodingKeys: String, CodingKey {
            case leaves
            case leafIndex = "leaf_index"
        }
    }

    /// The path and root a Merkle job proves. Two forms are accepted: the original's
    /// `{"leaves": [hex, ...], "leaf_index": n}` (the tree's depth must be the circuit's),
    /// and the circuit's input.json (`leaf`, `pathElements`, `pathIndices`, optional `root`).
    public static func merklePath(_ bytes: [UInt8], hash: MerkleHash, depth: Int) throws(JobInputError) -> (
        path: MerklePath, root: Fr
    ) {
        let data = Data(bytes)
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
                throw JobInputError("the inputs are not a JSON object")
            }
            object = parsed
        } catch let error as JobInputError {
            throw error
        } catch {
            throw JobInputError("the inputs are not valid JSON")
        }
        do {
            if object["leaves"] != nil {
                let request = try JSONDecoder().decode(LeafRequest.self, from: data)
                guard !request.leaves.isEmpty else { throw JobInputError("leaves array cannot be empty") }
                let index = request.leafIndex ?? 0
                guard (0..<request.leaves.count).contains(index) else {
                    throw JobInputError("invalid leaf_index: must be between 0 and \(request.leaves.count - 1)")
                }
                let tree = try MerkleTree(hexLeaves: request.leaves, hash: hash)
                guard tree.depth == depth else {
                    throw JobInputError(
                        "\(request.leaves.count) leaves make a tree of depth \(tree.depth); the circuit's depth is \(depth)"
                    )
                }
                return (try tree.path(forLeaf: index), tree.root)
            }
            let input = try JSONDecoder().decode(MerkleInput.self, from: data)
            return try input.resolve(depth: depth, hash: hash)
        } catch let error as JobInputError {
            throw error
        } catch let error as MerkleError {
            throw JobInputError("\(error)")
        } catch {
            throw JobInputError(
                "the inputs are neither {\"leaves\", \"leaf_index\"} nor {\"leaf\", \"pathElements\", \"pathIndices\"}: \(error)"
            )
        }
    }

    /// A circom job's witness: `{"wtns": "<base64 of the .wtns file>"}`.
    public static func circomWitness(_ bytes: [UInt8]) throws(JobInputError) -> [Fr] {
        struct Document: Decodable { var wtns: String }
        let document: Document
        do {
            document = try JSONDecoder().decode(Document.self, from: Data(bytes))
        } catch {
            throw JobInputError("a circom job's inputs are {\"wtns\": \"<base64 .wtns>\"}")
        }
        guard let file = Data(base64Encoded: document.wtns) else { throw JobInputError("wtns is not base64") }
        do {
            return try CircomFiles.readWitness(Array(file))
        } catch {
            throw JobInputError("wtns: \(error)")
        }
    }

    /// Checks a job's inputs against its circuit without proving: what a coordinator does
    /// before it commits a submission.
    public static func validate(_ bytes: [UInt8], for definition: CircuitDefinition) throws(JobInputError) {
        switch definition {
        case .merkle(let hash, let depth): _ = try merklePath(bytes, hash: hash, depth: depth)
        case .circom: _ = try circomWitness(bytes)
        }
    }
}
