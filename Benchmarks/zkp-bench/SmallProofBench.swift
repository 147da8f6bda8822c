import BN254
import Circuits
import Groth16

/// A cluster's typical job is a shallow Merkle proof: hundreds of constraints, where the
/// fixed costs of proving (MSM set-up, bucket reduction, G2) outweigh the per-point work
/// that the large benchmarks measure.
enum SmallProofBench {
    static func merkle(_ name: String, depth: Int, hash: MerkleHash, verify: Bool) -> Benchmark {
        Benchmark(name: name) { context, runs in
            var rng = BenchRandom(state: UInt64(depth) &+ 41)
            let circuit = try MerkleCircuit.build(depth: depth, hash: hash)
            let leaves = (0..<(1 << depth)).map { _ in Fr.random(using: &rng) }
            let tree = try MerkleTree(leaves: leaves, hash: hash)
            let (publicInputs, secretInputs) = MerkleCircuit.inputs(
                for: try tree.path(forLeaf: leaves.count / 2), root: tree.root)
            let key = try await Groth16.developmentSetup(circuit.r1cs, threads: 1, using: &rng)
            let verifier = PreparedVerifyingKey(key.verifyingKey)
            // A job is solved, proved and (on a worker) checked under the key, prepared once
            // as the worker holds it, before it leaves.
            let seconds = await measure(runs: runs ?? 30) {
                let witness = try! circuit.solve(publicInputs: publicInputs, secretInputs: secretInputs)
                let proof = try! await Groth16.prove(key, witness: witness, threads: 1, using: &rng)
                if verify {
                    precondition(try! Groth16.verify(verifier, publicInputs: publicInputs, proof: proof))
                }
            }
            return Measurement(
                name: name, parameters: ["depth": depth, "constraints": circuit.r1cs.constraintCount],
                seconds: seconds, threads: 1, revision: context.revision)
        }
    }

    static var all: [Benchmark] {
        [
            merkle("merkle_mimc_d0_job_1t", depth: 0, hash: .mimc, verify: true),
            merkle("merkle_mimc_d1_prove_1t", depth: 1, hash: .mimc, verify: false),
            merkle("merkle_mimc_d1_job_1t", depth: 1, hash: .mimc, verify: true),
            merkle("merkle_mimc_d4_prove_1t", depth: 4, hash: .mimc, verify: false),
        ]
    }
}
