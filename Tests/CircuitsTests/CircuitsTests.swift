import BN254
import Foundation
import Groth16
import TestSupport
import Testing

@testable import Circuits

@Suite("MiMC and Keccak")
struct MiMCTests {
    @Test("Keccak-256 matches the published digests")
    func keccak() {
        #expect(hexEncode(Keccak256.hash([])) == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        #expect(
            hexEncode(Keccak256.hash(Array("abc".utf8)))
                == "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45")
        // Two blocks: 200 bytes cross the 136-byte rate.
        #expect(
            hexEncode(Keccak256.hash([UInt8](repeating: 0xa3, count: 200)))
                == "3a57666b048777f2c953dc4456f45a2588e1cb6f2da760122d530ac2ce607d4a")
    }

    struct Vector: Decodable {
        let `in`: [String]
        let out: String
    }

    static func element(_ hex: String) throws -> Fr {
        let digits = hex.hasPrefix("0x") ? String(hex.dropFirst(2)) : hex
        let padded = String(repeating: "0", count: max(0, 64 - digits.count)) + digits
        let bytes = try #require(hexDecode(padded))
        return try #require(UInt256(bigEndian: bytes).flatMap { Fr(canonical: $0) })
    }

    @Test("gnark-crypto's MiMC_BN254 vectors")
    func gnarkVectors() throws {
        let vectors = try JSONDecoder().decode(
            [Vector].self, from: TestEnvironment.fixture("gnark-mimc-bn254/vectors.json"))
        #expect(vectors.count == 10)
        for vector in vectors {
            let blocks = try vector.in.map(Self.element)
            #expect(MiMC.hash(blocks) == (try Self.element(vector.out)), "input \(vector.in)")
        }
    }

    @Test("the MiMC gadget computes the native hash")
    func gadgetMatchesNative() throws {
        var rng = SeededRandom.forTest("mimc gadget")
        let builder = CircuitBuilder()
        let digest = builder.publicInput("digest")
        let blocks = (0..<3).map { builder.secretInput("block\($0)") }
        builder.assertEqual(MiMC.hash(blocks, in: builder), digest)
        let circuit = try builder.build()
        #expect(circuit.r1cs.constraintCount == 3 * 330 + 1)
        let values = (0..<3).map { _ in Fr.random(using: &rng) }
        _ = try circuit.solve(publicInputs: [MiMC.hash(values)], secretInputs: values)
        #expect(throws: Groth16Error.self) {
            try circuit.solve(publicInputs: [MiMC.hash(values) + .one], secretInputs: values)
        }
    }
}

@Suite("Poseidon")
struct PoseidonTests {
    struct Vector: Decodable {
        let `in`: [String]
        let out: String
    }

    static func element(_ text: String) throws -> Fr {
        text.hasPrefix("0x") ? try MiMCTests.element(text) : try #require(Fr(decimal: text))
    }

    @Test("circomlib's Poseidon(n) vectors, n = 1, 2, 4, 5, 6, 16")
    func circomlibVectors() throws {
        let vectors = try JSONDecoder().decode(
            [Vector].self, from: TestEnvironment.fixture("circomlib-poseidon/vectors.json"))
        #expect(vectors.count == 7)
        for vector in vectors {
            let inputs = try vector.in.map(Self.element)
            #expect(try Poseidon.hash(inputs) == (try Self.element(vector.out)), "input \(vector.in)")
        }
    }

    @Test("the circom fixtures' Poseidon values: a 272-hash chain and a depth-20 Merkle root")
    func circomFixtures() throws {
        struct ChainInput: Decodable { let seed: String, key: String }
        let chain = try JSONDecoder().decode(
            ChainInput.self, from: TestEnvironment.fixture("circom/poseidon_chain_272/input.json"))
        let chainPublic = try JSONDecoder().decode(
            [String].self, from: TestEnvironment.fixture("circom/poseidon_chain_272/public.json"))
        let key = try Self.element(chain.key)
        var h = try Self.element(chain.seed)
        for _ in 0..<272 { h = try Poseidon.hash([h, key]) }
        #expect(h == (try Self.element(chainPublic[0])))

        struct MerkleInput: Decodable { let root: String, leaf: String, pathElements: [String], pathIndices: [String] }
        let merkle = try JSONDecoder().decode(
            MerkleInput.self, from: TestEnvironment.fixture("circom/merkle_poseidon_d20/input.json"))
        let path = MerklePath(
            leaf: try Self.element(merkle.leaf), siblings: try merkle.pathElements.map(Self.element),
            isRight: merkle.pathIndices.map { $0 == "1" })
        #expect(path.root(hash: .poseidon) == (try Self.element(merkle.root)))
    }

    @Test("the gadget computes the native hash for every width, at 3 constraints an S-box")
    func gadgetMatchesNative() throws {
        var rng = SeededRandom.forTest("poseidon gadget")
        for count in 1...Poseidon.maximumInputs {
            let builder = CircuitBuilder()
            let digest = builder.publicInput("digest")
            let inputs = (0..<count).map { builder.secretInput("in\($0)") }
            builder.assertEqual(try Poseidon.hash(inputs, in: builder), digest)
            let circuit = try builder.build()
            let width = count + 1
            // Every S-box but the first round's capacity element (a constant), plus the digest check.
            let sBoxes = 8 * width + Poseidon.partialRounds[width - 2] - 1
            #expect(circuit.r1cs.constraintCount == 3 * sBoxes + 1, "\(count) inputs")
            let values = (0..<count).map { _ in Fr.random(using: &rng) }
            let expected = try Poseidon.hash(values)
            _ = try circuit.solve(publicInputs: [expected], secretInputs: values)
            #expect(throws: Groth16Error.self) {
                try circuit.solve(publicInputs: [expected + .one], secretInputs: values)
            }
        }
    }

    @Test("0 or 17 inputs are an error, not a crash")
    func inputCount() {
        #expect(throws: PoseidonError.inputCount(0)) { try Poseidon.hash([]) }
        #expect(throws: PoseidonError.inputCount(17)) { try Poseidon.hash([Fr](repeating: .one, count: 17)) }
        #expect(throws: PoseidonError.inputCount(17)) {
            try Poseidon.hash([LinearCombination](repeating: .one, count: 17), in: CircuitBuilder())
        }
    }
}

@Suite("Merkle trees and the membership circuit")
struct MerkleTests {
    @Test("every path of every tree up to 39 leaves leads to the root (odd levels included)")
    func pathsReachTheRoot() throws {
        var rng = SeededRandom.forTest("merkle paths")
        for count in 1...39 {
            let leaves = (0..<count).map { _ in Fr.random(using: &rng) }
            let tree = try MerkleTree(leaves: leaves, hash: .mimc)
            var expectedDepth = 0
            while (1 << expectedDepth) < count { expectedDepth += 1 }
            #expect(tree.depth == expectedDepth)
            for index in 0..<count {
                let path = try tree.path(forLeaf: index)
                #expect(path.root(hash: .mimc) == tree.root, "\(count) leaves, index \(index)")
            }
        }
    }

    @Test("the tree pairs an odd last node with itself")
    func oddNodePairsWithItself() throws {
        let leaves = [Fr(1), Fr(2), Fr(3)]
        let tree = try MerkleTree(leaves: leaves, hash: .mimc)
        let left = MiMC.hash([Fr(1), Fr(2)])
        let right = MiMC.hash([Fr(3), Fr(3)])
        #expect(tree.root == MiMC.hash([left, right]))
        #expect(try MerkleTree(leaves: [Fr(7)], hash: .mimc).root == Fr(7))
    }

    @Test("bad leaves and indices are errors that name the problem")
    func badInput() throws {
        #expect(throws: MerkleError.noLeaves) { try MerkleTree(leaves: [], hash: .mimc) }
        #expect(throws: MerkleError.invalidLeaf(index: 1, reason: "33 bytes, at most 32 allowed")) {
            try MerkleTree(hexLeaves: ["01", String(repeating: "ab", count: 33)], hash: .mimc)
        }
        #expect(throws: MerkleError.invalidLeaf(index: 0, reason: "not below the field modulus r")) {
            try MerkleTree(hexLeaves: ["0x" + String(repeating: "ff", count: 32)], hash: .mimc)
        }
        #expect(throws: MerkleError.invalidLeaf(index: 0, reason: "odd number of hex digits")) {
            try MerkleTree(hexLeaves: ["abc"], hash: .mimc)
        }
        #expect(throws: MerkleError.invalidLeaf(index: 0, reason: "not hexadecimal")) {
            try MerkleTree(hexLeaves: ["zz"], hash: .mimc)
        }
        let tree = try MerkleTree(hexLeaves: ["0x01", "02"], hash: .mimc)
        #expect(throws: MerkleError.leafIndexOutOfRange(index: 2, count: 2)) { try tree.path(forLeaf: 2) }
        #expect(throws: MerkleError.depthOutOfRange(33)) { try MerkleCircuit.build(depth: 33, hash: .mimc) }
    }

    @Test(
        "membership proofs verify at depths 0, 1, 2 and 20 for each hash; a wrong leaf or root is refused",
        arguments: MerkleHash.allCases, [0, 1, 2, 20])
    func membershipProofs(hash: MerkleHash, depth: Int) async throws {
        var rng = SeededRandom.forTest("merkle circuit \(hash) depth \(depth)")
        let circuit = try MerkleCircuit.build(depth: depth, hash: hash)
        // A tree of exactly this depth, with an odd count where possible (an odd last node).
        let count = depth == 0 ? 1 : depth == 20 ? 5 : (1 << depth) - (depth > 1 ? 1 : 0)
        let path: MerklePath
        let root: Fr
        if depth == 20 {
            // A full 2^20 tree is too slow to build here: a random path has the same shape.
            let leaf = Fr.random(using: &rng)
            path = MerklePath(
                leaf: leaf, siblings: (0..<20).map { _ in Fr.random(using: &rng) },
                isRight: (0..<20).map { _ in rng.next() & 1 == 1 })
            root = path.root(hash: hash)
        } else {
            let tree = try MerkleTree(leaves: (0..<count).map { _ in Fr.random(using: &rng) }, hash: hash)
            #expect(tree.depth == depth)
            path = try tree.path(forLeaf: count - 1)
            root = tree.root
        }
        let (publicInputs, secretInputs) = MerkleCircuit.inputs(for: path, root: root)
        let witness = try circuit.solve(publicInputs: publicInputs, secretInputs: secretInputs)
        let key = try await Groth16.developmentSetup(circuit.r1cs, threads: 2, using: &rng)
        let proof = try await Groth16.prove(key, witness: witness, threads: 2, using: &rng)
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: [root], proof: proof))
        #expect(try !Groth16.verify(key.verifyingKey, publicInputs: [root + .one], proof: proof))
        var wrongLeaf = secretInputs
        wrongLeaf[0] = wrongLeaf[0] + .one
        #expect(throws: Groth16Error.self) { try circuit.solve(publicInputs: publicInputs, secretInputs: wrongLeaf) }
        if depth > 0 {
            var notBoolean = secretInputs
            notBoolean[secretInputs.count - 1] = Fr(2)
            #expect(throws: Groth16Error.self) {
                try circuit.solve(publicInputs: publicInputs, secretInputs: notBoolean)
            }
        }
    }
}
