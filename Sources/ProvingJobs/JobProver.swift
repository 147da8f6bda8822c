import BN254
import Circom
import Circuits
import Foundation
import Groth16

/// A circuit ready to set up or prove: its constraint system, and for built-in circuits
/// the solver that computes a witness from the job's inputs.
public struct ProvingCircuit: Sendable {
    public let definition: CircuitDefinition
    public let r1cs: R1CS
    /// The built-in circuit's solver; circom jobs bring their witness.
    let builtin: Circuit?

    /// Builds the circuit; a circom circuit's `.r1cs` comes from `artifact(digest)`.
    public static func load(
        _ definition: CircuitDefinition, artifact: @Sendable (String) async throws -> [UInt8]
    ) async throws -> ProvingCircuit {
        switch definition {
        case .merkle(let hash, let depth):
            let circuit = try MerkleCircuit.build(depth: depth, hash: hash)
            return ProvingCircuit(definition: definition, r1cs: circuit.r1cs, builtin: circuit)
        case .circom(let digest):
            let r1cs = try CircomFiles.readR1CS(try await artifact(digest))
            return ProvingCircuit(definition: definition, r1cs: r1cs, builtin: nil)
        }
    }

    /// A circom circuit whose constraint system came with its proving key.
    public static func circom(_ definition: CircuitDefinition, r1cs: R1CS) -> ProvingCircuit {
        ProvingCircuit(definition: definition, r1cs: r1cs, builtin: nil)
    }

    /// The full witness for a job's inputs. Every failure here is the input's fault, the
    /// same on every worker and every retry.
    public func witness(for inputs: [UInt8]) throws(JobInputError) -> [Fr] {
        do {
            switch (definition, builtin) {
            case (.merkle(let hash, let depth), let circuit?):
                let (path, root) = try JobInputs.merklePath(inputs, hash: hash, depth: depth)
                let (publicInputs, secretInputs) = MerkleCircuit.inputs(for: path, root: root)
                return try circuit.solve(publicInputs: publicInputs, secretInputs: secretInputs)
            case (.circom, _):
                let witness = try JobInputs.circomWitness(inputs)
                try r1cs.check(witness: witness)
                return witness
            default:
                throw JobInputError("the circuit has no solver for its inputs")
            }
        } catch let error as Groth16Error {
            throw JobInputError("the inputs do not satisfy the circuit: \(error)")
        } catch let error as JobInputError {
            throw error
        } catch {
            throw JobInputError("\(error)")
        }
    }
}

/// A proving key held for many jobs, with its verifying key prepared once: every proof is
/// checked before it leaves, and the prepared form makes that check about 40% cheaper.
public struct ProverKey: Sendable {
    public let provingKey: ProvingKey
    public let verifier: PreparedVerifyingKey

    public init(_ provingKey: ProvingKey) {
        self.provingKey = provingKey
        verifier = PreparedVerifyingKey(provingKey.verifyingKey)
    }
}

/// The work of setup and proving jobs, done by workers and `zkp dev`.
public enum JobProver {
    /// A single-party development setup (fresh randomness, forgotten after).
    public static func setup(_ circuit: ProvingCircuit, threads: Int) async throws -> ProvingKey {
        var random = SystemRandomNumberGenerator()
        return try await Groth16.developmentSetup(circuit.r1cs, threads: threads, using: &random)
    }

    /// Proves and checks the proof under the key's own verifying key before returning it,
    /// so a fault in this machine's arithmetic never leaves it.
    public static func prove(_ key: ProverKey, witness: [Fr], threads: Int) async throws -> (
        proof: Proof, publicInputs: [Fr]
    ) {
        var random = SystemRandomNumberGenerator()
        let proof = try await Groth16.prove(key.provingKey, witness: witness, threads: threads, using: &random)
        let publicInputs = Array(witness[1...key.provingKey.publicCount])
        guard try Groth16.verify(key.verifier, publicInputs: publicInputs, proof: proof) else {
            throw ProverFault("the proof made does not verify under its own key")
        }
        return (proof, publicInputs)
    }
}

/// This machine made a wrong result; the attempt fails and is retried elsewhere.
public struct ProverFault: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
