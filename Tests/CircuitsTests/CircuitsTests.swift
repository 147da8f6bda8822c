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
        "membership proofs verify at depths 0, 1, 2 and 20; a wrong leaf or root is refused", arguments: [0, 1, 2, 20])
    func membershipProofs(depth: Int) async throws {
        var rng = SeededRandom.forTest("merkle circuit depth \(depth)")
        let circuit = try MerkleCircuit.build(depth: depth, hash: .mimc)
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
            root = path.root(hash: .mimc)
        } else {
            let tree = try MerkleTree(leaves: (0..<count).map { _ in Fr.random(using: &rng) }, hash: .mimc)
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
