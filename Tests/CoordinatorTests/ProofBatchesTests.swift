import BN254
import Foundation
import Groth16
import ProvingJobs
import Scheduler
import Testing

@testable import Coordinator

/// The leader's proof checks: reports under one key that arrive together are verified
/// together, and a bad proof among them is still found and named alone.
@Suite("Coordinator: batched proof checks")
struct ProofBatchesTests {
    struct Fixture {
        let key: PreparedVerifyingKey
        let proofs: [(publicInputs: [Fr], proof: Proof)]
    }

    /// Four real proofs of Poseidon Merkle membership (depth 1), each for its own root.
    static func fixture() async throws -> Fixture {
        let circuit = try await ProvingCircuit.load(.merkle(hash: .poseidon, depth: 1)) { _ in [] }
        let key = try await JobProver.setup(circuit, threads: 1)
        var proofs: [(publicInputs: [Fr], proof: Proof)] = []
        for leaf in 1...4 {
            let witness = try circuit.witness(
                for: Array(#"{"leaves": ["0x0\#(leaf)", "0x10"], "leaf_index": 0}"#.utf8))
            let (proof, publicInputs) = try await JobProver.prove(ProverKey(key), witness: witness, threads: 1)
            proofs.append((publicInputs, proof))
        }
        return Fixture(key: PreparedVerifyingKey(key.verifyingKey), proofs: proofs)
    }

    @Test("a batch that holds is one verdict for all; one that fails is checked proof by proof")
    func verdicts() async throws {
        let fixture = try await Self.fixture()
        let all = await ProofBatches.verdicts(fixture.proofs, under: fixture.key)
        #expect(all.map { try? $0.get() } == [true, true, true, true])
        // The second proof presented with the first's root: the batch fails, and only it is refused.
        var mixed = fixture.proofs
        mixed[1].publicInputs = fixture.proofs[0].publicInputs
        let found = await ProofBatches.verdicts(mixed, under: fixture.key)
        #expect(found.map { try? $0.get() } == [true, false, true, true])
        // A wrong number of public inputs is named, not merely false.
        var malformed = fixture.proofs
        malformed[2].publicInputs = []
        let named = await ProofBatches.verdicts(malformed, under: fixture.key)
        #expect(named.map { try? $0.get() } == [true, true, nil, true])
        if case .failure(let error) = named[2] { #expect("\(error)".contains("public")) }
    }

    @Test("concurrent checks under one key each get their own verdict")
    func concurrentChecks() async throws {
        let fixture = try await Self.fixture()
        let batches = ProofBatches()
        let digest = try #require(ArtifactDigest(hex: String(repeating: "ab", count: 32)))
        var presented = fixture.proofs + fixture.proofs
        presented[5].publicInputs = fixture.proofs[0].publicInputs
        let verdicts = await withTaskGroup(of: (Int, Bool?).self) { group in
            for (index, item) in presented.enumerated() {
                group.addTask {
                    let verdict = await batches.check(
                        item.proof, publicInputs: item.publicInputs, under: fixture.key, digest: digest)
                    return (index, try? verdict.get())
                }
            }
            var verdicts = [Bool?](repeating: nil, count: presented.count)
            for await (index, verdict) in group { verdicts[index] = verdict }
            return verdicts
        }
        #expect(verdicts == [true, true, true, true, true, false, true, true])
    }
}
