import BN254
import Circom
import Foundation
import Groth16

/// Setup, proving and verification of one circom circuit (`--r1cs FILE --wtns FILE`).
enum Groth16Bench {
    static func run(r1csPath: String, wtnsPath: String, runs: Int?, context: Context) async throws -> [Measurement] {
        let r1cs = try CircomFiles.readR1CS(Array(try Data(contentsOf: URL(fileURLWithPath: r1csPath))))
        let witness = try CircomFiles.readWitness(Array(try Data(contentsOf: URL(fileURLWithPath: wtnsPath))))
        try r1cs.check(witness: witness)
        let parameters = ["constraints": r1cs.constraintCount, "wires": r1cs.wireCount]
        var rng = BenchRandom(state: 11)
        var results: [Measurement] = []
        func record(_ name: String, _ seconds: [Double], threads: Int, extra: [String: Int] = [:]) {
            let measurement = Measurement(
                name: name, parameters: parameters.merging(extra) { $1 }, seconds: seconds, threads: threads,
                revision: context.revision)
            print(measurement.json())
            results.append(measurement)
        }
        // Setup is slow and needs no warm-up beyond the first run.
        var key: ProvingKey?
        var setupSeconds: [Double] = []
        let clock = ContinuousClock()
        for _ in 0..<(runs ?? 1) {
            let elapsed = try await clock.measure {
                key = try await Groth16.developmentSetup(r1cs, threads: context.threads, using: &rng)
            }
            setupSeconds.append(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
        }
        let provingKey = key!
        record("groth16_setup", setupSeconds, threads: context.threads)

        // One-thread and all-thread proofs alternate, so that the speedup compares runs made
        // seconds apart rather than minutes apart on a machine whose speed drifts.
        var proof: Proof?
        let threadCounts = [1, context.threads]
        var proveSeconds: [[Double]] = [[], []]
        for threads in threadCounts {
            proof = try! await Groth16.prove(provingKey, witness: witness, threads: threads, using: &rng)  // warm-up
        }
        for _ in 0..<(runs ?? 3) {
            for (index, threads) in threadCounts.enumerated() {
                let elapsed = await clock.measure {
                    proof = try! await Groth16.prove(provingKey, witness: witness, threads: threads, using: &rng)
                }
                proveSeconds[index].append(
                    Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
            }
        }
        record("groth16_prove_1t", proveSeconds[0], threads: 1)
        record("groth16_prove", proveSeconds[1], threads: context.threads)
        let inputs = Array(witness[1...r1cs.publicCount])
        let verifyingKey = provingKey.verifyingKey
        let validProof = proof!
        // A verifier checks many proofs under one key, so the key is prepared once, as
        // arkworks' `Verifier(vk)` does; the one-off form is recorded beside it.
        let prepared = PreparedVerifyingKey(verifyingKey)
        let oneOffSeconds = await measure(runs: runs ?? 20) {
            precondition(try! Groth16.verify(verifyingKey, publicInputs: inputs, proof: validProof))
        }
        let batchSize = 64
        var batch: [(publicInputs: [Fr], proof: Proof)] = []
        for _ in 0..<batchSize {
            batch.append(
                (inputs, try await Groth16.prove(provingKey, witness: witness, threads: context.threads, using: &rng)))
        }
        // Single and batch verification alternate, a batch after every eight single checks,
        // so that their ratio compares times taken within the same second or so.
        var verifySeconds: [Double] = []
        var batchSeconds: [Double] = []
        for _ in 0..<(runs ?? 5) {
            verifySeconds += await measure(runs: 8) {
                precondition(try! Groth16.verify(prepared, publicInputs: inputs, proof: validProof))
            }
            batchSeconds += await measure(runs: 1, batch: batchSize) {
                let valid = try! await Groth16.batchVerify(prepared, batch, using: &rng)
                precondition(valid)
            }
        }
        // A verifier checks many proofs under one key, so the key is prepared once, as
        // arkworks' `Verifier(vk)` does; the one-off form is recorded beside it.
        record("groth16_verify", verifySeconds, threads: 1)
        record("groth16_verify_unprepared_key", oneOffSeconds, threads: 1)
        record("groth16_batch_verify_per_proof", batchSeconds, threads: 1, extra: ["batch": batchSize])
        return results
    }
}
