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
    private let proofs = ProofBatches()

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
            switch await proofs.check(proof, publicInputs: inputs, under: key, digest: verificationKey) {
            case .success(let verdict): valid = verdict
            case .failure(let error): throw CoordinatorError.proofInvalid("\(error)")
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

/// Proofs under one verification key that arrive while a check under that key is running
/// are checked together, with one batch verification (k + 3 Miller loops and one final
/// exponentiation for k proofs, instead of k final exponentiations). A proof that finds
/// nothing running is checked at once and alone, so a lone report waits for nothing. When
/// a batch fails, each of its proofs is checked alone, so that one bad proof costs the
/// others nothing but time.
final class ProofBatches: Sendable {
    typealias Verdict = Result<Bool, Groth16Error>

    private struct Pending {
        let proof: Proof
        let publicInputs: [Fr]
        let waiter: CheckedContinuation<Verdict, Never>
    }

    private struct State {
        var queued: [ArtifactDigest: [Pending]] = [:]
        var running: Set<ArtifactDigest> = []
    }

    private let state = Mutex(State())

    func check(_ proof: Proof, publicInputs: [Fr], under key: PreparedVerifyingKey, digest: ArtifactDigest) async
        -> Verdict
    {
        await withCheckedContinuation { waiter in
            let batch = state.withLock { state -> [Pending]? in
                state.queued[digest, default: []].append(
                    Pending(proof: proof, publicInputs: publicInputs, waiter: waiter))
                guard !state.running.contains(digest) else { return nil }
                state.running.insert(digest)
                return state.queued.removeValue(forKey: digest)
            }
            if let batch { Task { await self.run(batch, under: key, digest: digest) } }
        }
    }

    /// Checks `batch`, answers it, then checks what queued meanwhile, until nothing has.
    private func run(_ first: [Pending], under key: PreparedVerifyingKey, digest: ArtifactDigest) async {
        var batch = first
        while !batch.isEmpty {
            let verdicts = await Self.verdicts(batch.map { ($0.publicInputs, $0.proof) }, under: key)
            for (pending, verdict) in zip(batch, verdicts) { pending.waiter.resume(returning: verdict) }
            batch = state.withLock { state in
                let next = state.queued.removeValue(forKey: digest) ?? []
                if next.isEmpty { state.running.remove(digest) }
                return next
            }
        }
    }

    /// One verdict per proof: one batch verification when there are several and all hold,
    /// else each proof on its own (which also names what is malformed).
    static func verdicts(_ batch: [(publicInputs: [Fr], proof: Proof)], under key: PreparedVerifyingKey) async
        -> [Verdict]
    {
        if batch.count > 1 {
            // The weights must be unknown to whoever made the proofs: the system's generator.
            var generator = SystemRandomNumberGenerator()
            if (try? await Groth16.batchVerify(key, batch, using: &generator)) == true {
                return Array(repeating: .success(true), count: batch.count)
            }
        }
        return batch.map { item in
            Result { () throws(Groth16Error) -> Bool in
                try Groth16.verify(key, publicInputs: item.publicInputs, proof: item.proof)
            }
        }
    }
}
