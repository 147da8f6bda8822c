import BN254
import Circom
import Foundation
import TestSupport
import Testing

@testable import Groth16

/// The circuits in Tests/Fixtures/circom, compiled by circom 2 and proven by arkworks.
enum CircomFixture: String, CaseIterable, CustomTestStringConvertible {
    case merklePoseidon = "merkle_poseidon_d20"
    case merkleMiMCSponge = "merkle_mimcsponge_d20"
    case poseidonChain = "poseidon_chain_272"

    var testDescription: String { rawValue }

    func data(_ file: String) throws -> Data { try TestEnvironment.fixture("circom/\(rawValue)/\(file)") }

    func decode<T: Decodable>(_ file: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: data(file))
    }

    func verifyingKey() throws -> VerifyingKey {
        try VerifyingKey(snarkjs: decode("verification_key.json", as: SnarkjsVerificationKey.self))
    }

    func publicSignals(_ file: String = "public.json") throws -> [Fr] {
        try SnarkjsPublicSignals.decode(decode(file, as: [String].self))
    }
}

@Suite("circom files and snarkjs interop")
struct CircomInteropTests {
    @Test(
        "arkworks' proofs verify under their keys; tampered proofs and inputs are rejected",
        arguments: CircomFixture.allCases)
    func verifyForeignProofs(fixture: CircomFixture) async throws {
        let key = try fixture.verifyingKey()
        let proof = try Proof(snarkjs: fixture.decode("proof.json", as: SnarkjsProof.self))
        let inputs = try fixture.publicSignals()
        #expect(try Groth16.verify(key, publicInputs: inputs, proof: proof))
        let tamperedProof = try Proof(snarkjs: fixture.decode("proof_tampered.json", as: SnarkjsProof.self))
        #expect(try !Groth16.verify(key, publicInputs: inputs, proof: tamperedProof))
        #expect(try !Groth16.verify(key, publicInputs: fixture.publicSignals("public_tampered.json"), proof: proof))
        // The same answers under the prepared key, singly and in a batch.
        let prepared = PreparedVerifyingKey(key)
        #expect(try Groth16.verify(prepared, publicInputs: inputs, proof: proof))
        #expect(try !Groth16.verify(prepared, publicInputs: inputs, proof: tamperedProof))
        #expect(
            try !Groth16.verify(prepared, publicInputs: fixture.publicSignals("public_tampered.json"), proof: proof))
        var rng = SeededRandom.forTest("prepared batch \(fixture.rawValue)")
        #expect(try await Groth16.batchVerify(prepared, [(inputs, proof), (inputs, proof)], using: &rng))
        #expect(try await !Groth16.batchVerify(prepared, [(inputs, proof), (inputs, tamperedProof)], using: &rng))
        // The 256-byte Ethereum form of the same proof.
        let hex = String(decoding: try fixture.data("proof_eth.hex"), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let bytes = try #require(hexDecode(hex.hasPrefix("0x") ? String(hex.dropFirst(2)) : hex))
        #expect(try Proof(ethereumBytes: bytes) == proof)
        #expect(proof.ethereumBytes == bytes)
    }

    @Test("the .r1cs and .wtns are read exactly, and the witness satisfies the constraints")
    func readCircomFiles() throws {
        let fixture = CircomFixture.merklePoseidon
        let r1cs = try CircomFiles.readR1CS(Array(fixture.data("circuit.r1cs")))
        #expect(r1cs.wireCount == 4882)
        #expect(r1cs.constraintCount == 4860)
        #expect(r1cs.publicCount == 1)
        let witness = try CircomFiles.readWitness(Array(fixture.data("witness.wtns")))
        #expect(witness.count == 4882)
        try r1cs.check(witness: witness)
        #expect(try witness[1] == fixture.publicSignals()[0])
    }

    @Test("malformed circom files get errors that name the problem")
    func malformedFiles() throws {
        let fixture = CircomFixture.merklePoseidon
        let r1cs = Array(try fixture.data("circuit.r1cs"))
        let wtns = Array(try fixture.data("witness.wtns"))
        func reason(_ body: () throws -> Void) -> String {
            do {
                try body()
                return "no error"
            } catch let error as CircomFileError {
                return error.reason
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(reason { _ = try CircomFiles.readR1CS(Array(r1cs.prefix(1000))) }.contains("section"))
        #expect(reason { _ = try CircomFiles.readR1CS(wtns) }.contains("magic"))
        #expect(reason { _ = try CircomFiles.readWitness(Array(wtns.dropLast(7))) }.contains("section"))
        var wrongVersion = r1cs
        wrongVersion[4] = 9
        #expect(reason { _ = try CircomFiles.readR1CS(wrongVersion) }.contains("version"))
        // The field prime in the header: r's 32 little-endian bytes, wherever the section lies.
        let modulus = Fr.modulus
        let primeBytes = [modulus.l0, modulus.l1, modulus.l2, modulus.l3].flatMap { limb in
            (0..<8).map { UInt8(truncatingIfNeeded: limb >> UInt64(8 * $0)) }
        }
        let primeOffset = try #require(
            (0...(r1cs.count - 32)).first { r1cs[$0..<($0 + 32)].elementsEqual(primeBytes) })
        var wrongPrime = r1cs
        wrongPrime[primeOffset] ^= 1
        #expect(reason { _ = try CircomFiles.readR1CS(wrongPrime) }.contains("prime"))
        #expect(reason { _ = try CircomFiles.readR1CS([]) }.contains("truncated"))
    }

    @Test("verification_key.json carries vk_alphabeta_12 in snarkjs's nesting")
    func alphaBetaShape() throws {
        let key = try CircomFixture.merklePoseidon.verifyingKey()
        let json = key.snarkjs
        #expect(json.vkAlphabeta12?.count == 2)
        #expect(json.vkAlphabeta12?.allSatisfy { $0.count == 3 && $0.allSatisfy { $0.count == 2 } } == true)
        #expect(json.nPublic == 1 && json.ic.count == 2)
    }
}

@Suite(
    "Groth16 interop with arkworks",
    .enabled(if: TestEnvironment.runsPeerTests, "peer venv missing: run scripts/test"))
struct ArkworksInteropTests {
    static func snarkjsText(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func arkworksVerifies(key: VerifyingKey, proof: Proof, inputs: [Fr]) throws -> JSONValue {
        let request = PeerRequest(
            op: "verify_snarkjs",
            cases: [
                .object([
                    "vk": .string(try snarkjsText(key.snarkjs)),
                    "proof": .string(try snarkjsText(proof.snarkjs)),
                    "public": .string(try snarkjsText(SnarkjsPublicSignals.encode(inputs))),
                ])
            ])
        let answer = try PeerProcess.call("arkworks_driver.py", request, as: PeerAnswer.self)
        try #require(answer.results.count == 1)
        return answer.results[0]
    }

    @Test("our proof of a circom circuit, from its .r1cs and .wtns, verifies in arkworks under our key")
    func ourProofVerifiesInArkworks() async throws {
        var rng = SeededRandom.forTest("groth16 arkworks interop")
        let fixture = CircomFixture.merklePoseidon
        let r1cs = try CircomFiles.readR1CS(Array(fixture.data("circuit.r1cs")))
        let witness = try CircomFiles.readWitness(Array(fixture.data("witness.wtns")))
        let key = try await Groth16.developmentSetup(r1cs, threads: 2, using: &rng)
        let proof = try await Groth16.prove(key, witness: witness, threads: 2, using: &rng)
        let inputs = Array(witness[1...r1cs.publicCount])
        #expect(try Groth16.verify(key.verifyingKey, publicInputs: inputs, proof: proof))
        #expect(try Self.arkworksVerifies(key: key.verifyingKey, proof: proof, inputs: inputs) == .bool(true))
        // And arkworks rejects it for another root.
        #expect(
            try Self.arkworksVerifies(key: key.verifyingKey, proof: proof, inputs: [inputs[0] + .one]) == .bool(false))
    }

    @Test("our proof of a built-in circuit verifies in arkworks")
    func builtInCircuitVerifiesInArkworks() async throws {
        var rng = SeededRandom.forTest("groth16 arkworks cubic")
        let circuit = try cubicCircuit()
        let key = try await Groth16.developmentSetup(circuit.r1cs, using: &rng)
        let witness = try circuit.solve(publicInputs: [Fr(35)], secretInputs: [Fr(3)])
        let proof = try await Groth16.prove(key, witness: witness, using: &rng)
        #expect(try Self.arkworksVerifies(key: key.verifyingKey, proof: proof, inputs: [Fr(35)]) == .bool(true))
    }
}
