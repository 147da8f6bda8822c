import BN254
import Circuits
import Foundation
import Groth16
import ProvingJobs
import Testing

@Suite struct CircuitDefinitionTests {
    @Test("definitions round-trip, and each family's fields are checked")
    func definitions() throws {
        let merkle = CircuitDefinition.merkle(hash: .poseidon, depth: 20)
        #expect(try CircuitDefinition(family: "merkle", encoded: merkle.encoded) == merkle)
        #expect(try CircuitDefinition(encoded: merkle.encoded) == merkle)
        let circom = CircuitDefinition.circom(r1cs: String(repeating: "0a", count: 32))
        #expect(try CircuitDefinition(encoded: circom.encoded) == circom)
        #expect(merkle.family == "merkle" && merkle.circuitType == "merkle_proof" && circom.family == "circom")
        let refusals: [(String, String, String)] = [
            ("merkle", #"{"hash":"sha256","depth":3}"#, "sha256"),
            ("merkle", #"{"hash":"mimc","depth":33}"#, "depth 33"),
            ("merkle", #"{"hash":"mimc"}"#, "depth"),
            ("circom", #"{"r1cs":"ABC"}"#, "r1cs"),
            ("plonk", #"{}"#, "plonk"),
            ("merkle", "not json", "JSON"),
        ]
        for (family, text, expected) in refusals {
            #expect {
                try CircuitDefinition(family: family, encoded: Array(text.utf8))
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
    }
}

@Suite struct JobInputsTests {
    let leaves = ["0x01", "0x02", "0x03", "0x04"]

    @Test("the original {leaves, leaf_index} form and the input.json form give the same path and root")
    func bothForms() throws {
        let tree = try MerkleTree(hexLeaves: leaves, hash: .mimc)
        let original = Array(#"{"leaves": ["0x01", "0x02", "0x03", "0x04"], "leaf_index": 2}"#.utf8)
        let (path, root) = try JobInputs.merklePath(original, hash: .mimc, depth: 2)
        let expected = try tree.path(forLeaf: 2)
        #expect(root == tree.root && path == expected)
        let input = try JSONEncoder().encode(MerkleInput(path: path, root: root))
        let (again, rootAgain) = try JobInputs.merklePath(Array(input), hash: .mimc, depth: 2)
        #expect(again == path && rootAgain == root)
    }

    @Test("bad inputs are refused with the original's messages or the field named")
    func refusals() {
        let cases: [(String, String)] = [
            (#"{"leaves": [], "leaf_index": 0}"#, "leaves array cannot be empty"),
            (#"{"leaves": ["0x01", "0x02"], "leaf_index": 2}"#, "invalid leaf_index: must be between 0 and 1"),
            (#"{"leaves": ["0x01", "0xzz", "0x03", "0x04"]}"#, "leaf 1"),
            (#"{"leaves": ["0x01", "0x02"], "leaf_index": 0}"#, "depth 1"),
            (#"{"leaf": "1", "pathElements": ["1"], "pathIndices": ["0"]}"#, "pathElements has 1"),
            (#"[1, 2]"#, "not a JSON object"),
            (#"{"#, "not valid JSON"),
        ]
        for (text, expected) in cases {
            #expect {
                try JobInputs.merklePath(Array(text.utf8), hash: .mimc, depth: 2)
            } throws: { error in
                "\(error)".contains(expected)
            }
            // A coordinator's check (which builds no tree) refuses the same, with the same words.
            #expect {
                try JobInputs.validate(Array(text.utf8), for: .merkle(hash: .mimc, depth: 2))
            } throws: { error in
                "\(error)".contains(expected)
            }
        }
        for leaves in [4, 3] {
            let list = (1...leaves).map { "\"0x0\($0)\"" }.joined(separator: ",")
            let text = #"{"leaves": [\#(list)], "leaf_index": \#(leaves - 1)}"#
            #expect(throws: Never.self) {
                try JobInputs.validate(Array(text.utf8), for: .merkle(hash: .mimc, depth: 2))
            }
        }
        let five = #"{"leaves": ["0x01", "0x02", "0x03", "0x04", "0x05"]}"#
        #expect {
            try JobInputs.validate(Array(five.utf8), for: .merkle(hash: .mimc, depth: 2))
        } throws: { error in
            "\(error)".contains("5 leaves make a tree of depth 3")
        }
        #expect(throws: JobInputError.self) { try JobInputs.circomWitness(Array(#"{"wtns": "%%%"}"#.utf8)) }
    }

    @Test("setup, then a proof the prover has already checked, for a Merkle job")
    func proveMerkle() async throws {
        let circuit = try await ProvingCircuit.load(.merkle(hash: .poseidon, depth: 2)) { digest in
            throw JobInputError("no artifact \(digest) is needed")
        }
        let key = try await JobProver.setup(circuit, threads: 1)
        let witness = try circuit.witness(
            for: Array(#"{"leaves": ["0x01", "0x02", "0x03", "0x04"], "leaf_index": 1}"#.utf8))
        let (proof, publicInputs) = try await JobProver.prove(ProverKey(key), witness: witness, threads: 1)
        let tree = try MerkleTree(hexLeaves: leaves, hash: .poseidon)
        #expect(publicInputs == [tree.root])
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: publicInputs, proof: proof))
        // A path to another root does not satisfy the circuit; that is the input's fault.
        var input = MerkleInput(path: try tree.path(forLeaf: 1), root: tree.root)
        input.root = "12345"
        #expect(throws: JobInputError.self) { try circuit.witness(for: Array(try JSONEncoder().encode(input))) }
    }
}
