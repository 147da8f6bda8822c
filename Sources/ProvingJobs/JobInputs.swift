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

    /// A Merkle job's inputs, read and checked field by field, before any hashing.
    enum MerkleRequest {
        /// The original's form: the leaves as field elements and the leaf to prove.
        case leaves([Fr], index: Int)
        /// The circuit's input.json form.
        case path(MerkleInput)
    }

    /// Reads either Merkle form and checks every field: the JSON, each leaf (hex, at most
    /// 32 bytes, below r), the index, and that the leaf count makes a tree of `depth`.
    static func merkleRequest(_ bytes: [UInt8], depth: Int) throws(JobInputError) -> MerkleRequest {
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
            guard object["leaves"] != nil else {
                return .path(try JSONDecoder().decode(MerkleInput.self, from: data))
            }
            let request = try JSONDecoder().decode(LeafRequest.self, from: data)
            guard !request.leaves.isEmpty else { throw JobInputError("leaves array cannot be empty") }
            let index = request.leafIndex ?? 0
            guard (0..<request.leaves.count).contains(index) else {
                throw JobInputError("invalid leaf_index: must be between 0 and \(request.leaves.count - 1)")
            }
            var leaves: [Fr] = []
            leaves.reserveCapacity(request.leaves.count)
            for (position, text) in request.leaves.enumerated() {
                leaves.append(try MerkleTree.leaf(fromHex: text, index: position))
            }
            // Each level halves the nodes, an odd last one paired with itself.
            var treeDepth = 0
            var nodes = leaves.count
            while nodes > 1 {
                nodes = (nodes + 1) / 2
                treeDepth += 1
            }
            guard treeDepth == depth else {
                throw JobInputError(
                    "\(leaves.count) leaves make a tree of depth \(treeDepth); the circuit's depth is \(depth)")
            }
            return .leaves(leaves, index: index)
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

    /// The path and root a Merkle job proves. Two forms are accepted: the original's
    /// `{"leaves": [hex, ...], "leaf_index": n}` (the tree's depth must be the circuit's),
    /// and the circuit's input.json (`leaf`, `pathElements`, `pathIndices`, optional `root`).
    public static func merklePath(_ bytes: [UInt8], hash: MerkleHash, depth: Int) throws(JobInputError) -> (
        path: MerklePath, root: Fr
    ) {
        try pathAndRoot(of: try merkleRequest(bytes, depth: depth), hash: hash, depth: depth)
    }

    /// The path and root a checked request proves: the tree of the leaves, or the given path.
    static func pathAndRoot(of request: MerkleRequest, hash: MerkleHash, depth: Int) throws(JobInputError) -> (
        path: MerklePath, root: Fr
    ) {
        do {
            switch request {
            case .leaves(let leaves, let index):
                let tree = try MerkleTree(leaves: leaves, hash: hash)
                return (try tree.path(forLeaf: index), tree.root)
            case .path(let input):
                return try input.resolve(depth: depth, hash: hash)
            }
        } catch {
            throw JobInputError("\(error)")
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
        // The leaves form needs no hashing to be checked: the worker builds the tree.
        case .merkle(let hash, let depth):
            let request = try merkleRequest(bytes, depth: depth)
            if case .path = request { _ = try pathAndRoot(of: request, hash: hash, depth: depth) }
        case .circom: _ = try circomWitness(bytes)
        }
    }
}
