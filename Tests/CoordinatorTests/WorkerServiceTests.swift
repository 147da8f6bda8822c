import Coordinator
import Foundation
import GRPCCore
import GRPCInProcessTransport
import Scheduler
import Storage
import Testing
import Wire

/// The worker protocol through a real gRPC server and client (in-process transport).
@Suite("Coordinator: the worker gRPC service", .serialized)
struct WorkerServiceTests {
    static func withService(
        _ body:
            @Sendable (Coordinator_CoordinatorService.Client<InProcessTransport.Client>, SingleCoordinator) async throws
            -> Void
    ) async throws {
        let c = try await SingleCoordinator.start()
        let transport = InProcessTransport()
        let service = WorkerService(engine: c.engine, artifacts: c.artifacts)
        try await withGRPCServer(transport: transport.server, services: [service]) { _ in
            try await withGRPCClient(transport: transport.client) { client in
                try await body(Coordinator_CoordinatorService.Client(wrapping: client), c)
            }
        }
        try await c.stop()
    }

    @Test("register, stream, start, complete and the refusals, with the original messages and new codes")
    func workerProtocol() async throws {
        try await Self.withService { client, c in
            var register = Coordinator_RegisterWorkerRequest()
            register.workerID = "worker-1"
            register.maxConcurrentTasks = 0
            var answer = try await client.registerWorker(register)
            #expect(!answer.success && answer.code == .invalidArgument)
            #expect(answer.message == "Registration failed: max_concurrent_tasks 0 is not positive")
            register.maxConcurrentTasks = 2
            register.capabilities = ["circuits": "merkle, range"]
            answer = try await client.registerWorker(register)
            #expect(answer.success && answer.message == "Worker registered successfully")
            #expect(answer.heartbeatIntervalMs == 5_000)
            #expect(c.engine.machine.read { $0.workers[WorkerID("worker-1")]?.capabilities } == ["merkle", "range"])

            var beat = Coordinator_HeartbeatRequest()
            beat.workerID = "stranger"
            let unknown = try await client.sendHeartbeat(beat)
            #expect(!unknown.success && unknown.code == .unknownWorker)
            beat.workerID = "worker-1"
            #expect(try await client.sendHeartbeat(beat).success)

            var streamRequest = Coordinator_ReceiveTasksRequest()
            streamRequest.workerID = "worker-1"
            let setup = try await c.engine.registerCircuit(CircuitID("c"), family: "merkle", definition: [7])
            let first: Coordinator_TaskAssignment = try await client.receiveTasks(streamRequest) { response in
                for try await message in response.messages where message.kind == .task { return message }
                throw RPCError(code: .aborted, message: "stream ended")
            }
            #expect(first.taskID == setup.rawValue && first.circuitType == "setup" && first.attempt == 1)
            #expect(first.circuitID == "c" && Array(first.circuitDefinition) == [7])

            var start = Coordinator_StartTaskRequest()
            start.taskID = setup.rawValue
            start.workerID = "worker-1"
            let missingAttempt = try await client.startTask(start)
            #expect(!missingAttempt.success && missingAttempt.code == .invalidArgument)
            start.attempt = 1
            let started = try await client.startTask(start)
            #expect(started.success && started.message == "Task started successfully" && started.leaseExpiresAtMs > 0)

            // A completion from a worker that does not hold the task.
            var forged = Coordinator_TaskCompletionRequest()
            forged.taskID = setup.rawValue
            forged.workerID = "worker-2"
            forged.attempt = 1
            forged.provingKeyDigest = String(repeating: "ab", count: 32)
            forged.verificationKeyDigest = String(repeating: "cd", count: 32)
            let refused = try await client.reportCompletion(forged)
            #expect(!refused.success && refused.code == .notOwner)
            #expect(refused.message.hasPrefix("Failed to update task: worker worker-2 does not hold job"))

            // A proof of the wrong size is named as such.
            var malformed = Coordinator_TaskCompletionRequest()
            malformed.taskID = setup.rawValue
            malformed.workerID = "worker-1"
            malformed.attempt = 1
            malformed.proofData = Data([1, 2, 3])
            let bad = try await client.reportCompletion(malformed)
            #expect(!bad.success && bad.code == .invalidArgument && bad.message.contains("3 bytes, not 256"))

            // Keys: uploaded, then reported.
            let pkBytes = Array("proving key".utf8)
            let upload: Coordinator_UploadArtifactResponse = try await client.uploadArtifact { writer in
                var chunk = Coordinator_ArtifactChunk()
                chunk.data = Data(pkBytes)
                try await writer.write(chunk)
            }
            #expect(upload.success && upload.digest == ArtifactStore.digest(of: pkBytes).hex)
            let fetched: [UInt8] = try await client.fetchArtifact(
                .with { $0.digest = upload.digest }
            ) { response in
                var bytes: [UInt8] = []
                for try await chunk in response.messages { bytes += chunk.data }
                return bytes
            }
            #expect(fetched == pkBytes)

            var failure = Coordinator_TaskFailureRequest()
            failure.taskID = setup.rawValue
            failure.workerID = "worker-1"
            failure.attempt = 1
            failure.errorMessage = "out of memory"
            let failed = try await client.reportFailure(failure)
            #expect(failed.success && failed.message == "Task failure recorded")
            let late = try await client.reportFailure(failure)
            #expect(!late.success && late.code == .staleAttempt)

            var leave = Coordinator_DeregisterWorkerRequest()
            leave.workerID = "worker-1"
            #expect(try await client.deregisterWorker(leave).success)
            #expect(!(try await client.sendHeartbeat(beat).success))
        }
    }
}
