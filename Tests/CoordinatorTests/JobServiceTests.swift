import BN254
import Circuits
import Coordinator
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Groth16
import ProvingJobs
import RaftNode
import Scheduler
import Storage
import Testing
import Wire

/// zkp.JobService and the projection writer on one coordinator, through an in-process
/// gRPC server; a worker's part is played by the engine's own calls.
@Suite("Coordinator: the job service and the SQL projection", .serialized)
struct JobServiceTests {
    static func withService(
        _ body:
            @Sendable (Zkp_JobService.Client<InProcessTransport.Client>, SingleCoordinator, ProjectionWriter)
            async throws
            -> Void
    ) async throws {
        let c = try await SingleCoordinator.start()
        let projection = JobProjection(database: c.database)
        let writer = ProjectionWriter(engine: c.engine, projection: projection, consensus: c.node)
        let writing = Task { await writer.run() }
        let node = c.node
        let service = JobService(
            engine: c.engine, artifacts: c.artifacts, projection: projection, projectionStatus: { writer.status },
            raftStatus: { await node.status }, catchUp: { try await node.linearizableRead() }, leaders: GRPCClientPool()
        )
        let transport = InProcessTransport()
        do {
            try await withGRPCServer(transport: transport.server, services: [service]) { _ in
                try await withGRPCClient(transport: transport.client) { client in
                    try await body(Zkp_JobService.Client(wrapping: client), c, writer)
                }
            }
        } catch {
            writing.cancel()
            try await c.stop()
            throw error
        }
        writing.cancel()
        await writing.value
        try await c.stop()
    }

    /// Plays the worker: takes the next task from the stream, proves it (or sets up) and reports it.
    static func work(
        _ messages: inout AsyncStream<WorkerMessage>.Iterator, c: SingleCoordinator, key: inout ProvingKey?
    ) async throws -> JobID {
        guard case .task(let job, let attempt, let record) = try await next(&messages) else {
            throw CoordinatorError.invalidArgument("expected a task")
        }
        _ = try await c.engine.start(job.id, worker: attempt.worker, attempt: attempt.number)
        let circuit = try await ProvingCircuit.load(try CircuitDefinition(encoded: record.definition)) { _ in [] }
        let result: JobResult
        if job.kind == .setup {
            let made = try await JobProver.setup(circuit, threads: 1)
            key = made
            let pk = try await c.artifacts.put(made.nativeBytes, at: Timestamp(milliseconds: 1))
            let vk = try await c.artifacts.put(made.verifyingKey.nativeBytes, at: Timestamp(milliseconds: 1))
            result = .keys(provingKey: pk, verificationKey: vk)
        } else {
            let (proof, inputs) = try await JobProver.prove(
                ProverKey(key!), witness: try circuit.witness(for: job.inputs), threads: 1)
            result = .proof(proof: proof.ethereumBytes, publicInputs: PublicSignals.encode(inputs.map(\.decimalString)))
        }
        _ = try await c.engine.complete(job.id, worker: attempt.worker, attempt: attempt.number, result: result)
        return job.id
    }

    @Test("register a circuit, submit, wait, get, list and cancel; the projection catches up and archives")
    func lifecycle() async throws {
        try await Self.withService { client, c, writer in
            let worker = WorkerID("w")
            try await c.engine.register(worker, address: "", capacity: 1, capabilities: ["merkle"])
            var messages = try await c.engine.openStream(for: worker).messages.makeAsyncIterator()

            var register = Zkp_RegisterCircuitRequest()
            register.id = "m2"
            register.family = "merkle"
            register.definition = Data(#"{"hash":"poseidon","depth":2}"#.utf8)
            let circuit = try await client.registerCircuit(register)
            #expect(circuit.status == "awaiting_setup" && !circuit.setupJobID.isEmpty)
            await #expect(throws: RPCError.self) { _ = try await client.registerCircuit(register) }
            register.id = "bad"
            register.definition = Data(#"{"hash":"md5","depth":2}"#.utf8)
            await #expect {
                _ = try await client.registerCircuit(register)
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("md5")
            }

            var key: ProvingKey?
            #expect(try await Self.work(&messages, c: c, key: &key).rawValue == circuit.setupJobID)
            let ready = try await client.getCircuit(.with { $0.id = "m2" })
            #expect(ready.status == "ready" && ready.publicInputs == 1)
            let vk = try await client.getVerificationKey(.with { $0.id = "m2" })
            let published = try VerifyingKey(
                snarkjs: try JSONDecoder().decode(SnarkjsVerificationKey.self, from: vk.snarkjsJson))
            #expect(published == key!.verifyingKey)

            var submit = Zkp_SubmitJobRequest()
            submit.circuitID = "m2"
            submit.inputsJson = Data(#"{"leaves": ["0x01", "0x02", "0x03", "0x04"], "leaf_index": 3}"#.utf8)
            submit.idempotencyKey = "k1"
            let submitted = try await client.submit(submit)
            // The worker has a free slot and nothing waits: the entry that accepts the job assigns it.
            #expect(submitted.job.status == "assigned" && submitted.job.workerID == "w" && !submitted.duplicate)
            #expect(submitted.job.circuitType == "merkle_proof" && submitted.job.maxRetries == 3)
            let duplicate = try await client.submit(submit)
            #expect(duplicate.duplicate && duplicate.job.id == submitted.job.id)

            // A batch: one log entry, each submission answered on its own, in order.
            var fresh = submit
            fresh.idempotencyKey = "k-batch-1"
            var unknown = submit
            unknown.circuitID = "missing"
            var shallow = submit
            shallow.idempotencyKey = "k-batch-3"
            shallow.inputsJson = Data(#"{"leaves": ["0x01"], "leaf_index": 0}"#.utf8)
            let batch = try await client.submitBatch(.with { $0.jobs = [fresh, unknown, submit, shallow] })
            #expect(batch.results.count == 4)
            #expect(batch.results[0].accepted.job.status == "pending" && !batch.results[0].accepted.duplicate)
            #expect(batch.results[0].accepted.job.circuitType == "merkle_proof")
            #expect(batch.results[1].refused.code == Int32(RPCError.Code.notFound.rawValue))
            #expect(batch.results[1].refused.message.contains("\"missing\" is not registered"))
            #expect(batch.results[2].accepted.duplicate && batch.results[2].accepted.job.id == submitted.job.id)
            #expect(batch.results[3].refused.code == Int32(RPCError.Code.invalidArgument.rawValue))
            #expect(batch.results[3].refused.message.contains("depth"))
            _ = try await client.cancel(.with { $0.id = batch.results[0].accepted.job.id })
            let emptyBatch = try await client.submitBatch(Zkp_SubmitBatchRequest())
            #expect(emptyBatch.results.isEmpty)
            await #expect {
                _ = try await client.submitBatch(.with { $0.jobs = Array(repeating: fresh, count: 1_001) })
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("at most 1000")
            }

            // An unfinished job: Wait answers when its timeout passes.
            let waited = try await client.wait(
                .with {
                    $0.id = submitted.job.id
                    $0.timeoutMs = 50
                })
            #expect(waited.status != "completed")
            #expect(try await Self.work(&messages, c: c, key: &key).rawValue == submitted.job.id)
            let done = try await client.wait(
                .with {
                    $0.id = submitted.job.id
                    $0.timeoutMs = 10_000
                })
            #expect(done.status == "completed" && done.attempts == 1 && done.workerID == "w")
            let proof = try Proof(ethereumBytes: Array(done.proofBytes))
            let inputs = try SnarkjsPublicSignals.decode(try JSONDecoder().decode([String].self, from: done.publicJson))
            #expect(try Groth16.verify(published, publicInputs: inputs, proof: proof))

            // Cancel a pending job (no worker stream is open for it to be assigned).
            submit.idempotencyKey = "k2"
            let second = try await client.submit(submit)
            let cancelled = try await client.cancel(
                .with {
                    $0.id = second.job.id
                    $0.reason = "not needed"
                })
            #expect(cancelled.status == "cancelled" && cancelled.error == "not needed")
            await #expect {
                _ = try await client.cancel(.with { $0.id = second.job.id })
            } throws: { error in
                (error as? RPCError)?.code == .failedPrecondition
            }

            // The projection writes everything, then the terminal jobs leave memory.
            try await eventually("the projection reaches the applied index and archives") {
                let status = writer.status
                let archived = c.engine.machine.read { $0.jobs[JobID(submitted.job.id)] == nil }
                return status.database == .up && status.projectedIndex >= c.engine.machine.appliedIndex - 1 && archived
            }
            // Archived jobs are read from SQL, the same as before.
            let archived = try await client.get(.with { $0.id = submitted.job.id })
            #expect(archived.status == "completed" && archived.proofBytes == done.proofBytes)
            let page = try await client.list(.with { $0.status = "completed" })
            #expect(page.jobs.map(\.id).contains(submitted.job.id))

            await #expect {
                _ = try await client.get(.with { $0.id = "no-such-job" })
            } throws: { error in
                (error as? RPCError)?.code == .notFound
            }
            submit.circuitID = "missing"
            await #expect {
                _ = try await client.submit(submit)
            } throws: { error in
                (error as? RPCError)?.code == .notFound
            }
            submit.circuitID = "m2"
            submit.inputsJson = Data(#"{"leaves": ["0x01"], "leaf_index": 0}"#.utf8)
            await #expect {
                _ = try await client.submit(submit)
            } throws: { error in
                (error as? RPCError)?.code == .invalidArgument && "\(error)".contains("depth")
            }
            let status = try await client.clusterStatus(Zkp_ClusterStatusRequest())
            #expect(status.leaderID == 1 && status.workers.map(\.id) == ["w"] && status.database == "up")
        }
    }
}
