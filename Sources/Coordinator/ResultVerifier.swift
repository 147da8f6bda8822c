import BN254
import Foundation
import Groth16
import ProvingJobs
import Scheduler
import Storage
import Synchronization

/// Checks a worker's result before the leader commits it: a proof must verify under the
/// circuit's verification key; setup keys must be in the artifact store and readable.
public protocol ResultVerifier: Sendable {
    /// Throws `CoordinatorError.proofInvalid` with the reason when the result is not valid.
    func verify(_ result: JobResult, of job: Job, circuit: CircuitRecord) async throws
}

/// Groth16 verification with keys from the artifact store, prepared once per key.
public final class Groth16ResultVerifier: ResultVerifier {
    private let artifacts: ArtifactStore
    private let prepared = Mutex<[ArtifactDigest: PreparedVerifyingKey]>([:])

    public init(artifacts: ArtifactStore) { self.artifacts = artifacts }

    public func verify(_ result: JobResult, of job: Job, circuit: CircuitRecord) async throws {
        switch (job.kind, result) {
        case (.setup, .keys(let provingKey, let verificationKey)):
            for digest in [provingKey, verificationKey] where try await artifacts.size(of: digest) == nil {
                throw CoordinatorError.proofInvalid("artifact \(digest) was not uploaded")
            }
            _ = try await key(verificationKey)
        case (.prove, .proof(let bytes, let publicJSON)):
            guard case .ready(_, let verificationKey) = circuit.status else {
                throw CoordinatorError.proofInvalid("circuit \(circuit.id) has no verification key")
            }
            let key = try await key(verificationKey)
            let proof: Proof
            let inputs: [Fr]
            do {
                proof = try Proof(ethereumBytes: bytes)
                inputs = try SnarkjsPublicSignals.decode(try PublicSignals.decode(publicJSON))
            } catch {
                throw CoordinatorError.proofInvalid("\(error)")
            }
            let valid: Bool
            do {
                valid = try Groth16.verify(key, publicInputs: inputs, proof: proof)
            } catch {
                throw CoordinatorError.proofInvalid("\(error)")
            }
            guard valid else {
                throw CoordinatorError.proofInvalid("the proof does not verify under the circuit's key")
            }
        default:
            throw CoordinatorError.proofInvalid("a \(job.kind) job cannot end with this kind of result")
        }
    }

    private func key(_ digest: ArtifactDigest) async throws -> PreparedVerifyingKey {
        if let cached = prepared.withLock({ $0[digest] }) { return cached }
        guard let bytes = try await artifacts.get(digest) else {
            throw CoordinatorError.proofInvalid("verification key \(digest) is not in the artifact store")
        }
        let key: VerifyingKey
        do {
            key = try VerifyingKey(nativeBytes: bytes)
        } catch {
            throw CoordinatorError.proofInvalid("verification key \(digest): \(error)")
        }
        let ready = PreparedVerifyingKey(key)
        prepared.withLock { $0[digest] = ready }
        return ready
    }
}
