import GRPCCore
import SwiftProtobuf
import Testing
import Wire

/// The worker protocol keeps the original's RPC names and field numbers: messages as
/// the original's workers and coordinators encode them (written out here byte by byte
/// from the protobuf encoding rules, not produced by our code) decode to the same
/// fields, and ours encode to the same bytes when only original fields are set.
@Suite("Wire: the original coordinator contract")
struct OriginalContractTests {
    static func length(_ bytes: [UInt8]) -> [UInt8] { [UInt8(bytes.count)] }
    static func text(_ tag: UInt8, _ value: String) -> [UInt8] { [tag] + length(Array(value.utf8)) + Array(value.utf8) }

    @Test("the six original RPCs keep their full names")
    func methodNames() {
        typealias M = Coordinator_CoordinatorService.Method
        let names = [
            M.RegisterWorker.descriptor, M.SendHeartbeat.descriptor, M.ReceiveTasks.descriptor, M.StartTask.descriptor,
            M.ReportCompletion.descriptor, M.ReportFailure.descriptor,
        ].map(\.fullyQualifiedMethod)
        #expect(
            names == [
                "coordinator.CoordinatorService/RegisterWorker", "coordinator.CoordinatorService/SendHeartbeat",
                "coordinator.CoordinatorService/ReceiveTasks", "coordinator.CoordinatorService/StartTask",
                "coordinator.CoordinatorService/ReportCompletion", "coordinator.CoordinatorService/ReportFailure",
            ])
    }

    @Test("RegisterWorkerRequest: worker_id 1, max_concurrent_tasks 2, capabilities 3 (a map)")
    func registerWorker() throws {
        let entry = Self.text(0x0a, "circuits") + Self.text(0x12, "merkle,range,addition")
        let bytes = Self.text(0x0a, "worker-1") + [0x10, 0x04] + [0x1a] + Self.length(entry) + entry
        let message = try Coordinator_RegisterWorkerRequest(serializedBytes: bytes)
        #expect(message.workerID == "worker-1")
        #expect(message.maxConcurrentTasks == 4)
        #expect(message.capabilities == ["circuits": "merkle,range,addition"])
        #expect(try Array(message.serializedBytes() as [UInt8]) == bytes)

        let answer = [0x08, 0x01] + Self.text(0x12, "Worker registered successfully")
        let response = try Coordinator_RegisterWorkerResponse(serializedBytes: answer)
        #expect(response.success && response.message == "Worker registered successfully")
    }

    @Test("HeartbeatRequest: worker_id 1, timestamp 2; HeartbeatResponse: success 1")
    func heartbeat() throws {
        let bytes = Self.text(0x0a, "w") + [0x10, 0x80, 0xe2, 0xcf, 0xaa, 0x06]
        let message = try Coordinator_HeartbeatRequest(serializedBytes: bytes)
        #expect(message.workerID == "w" && message.timestamp == 1_700_000_000)
        #expect(try Array(message.serializedBytes() as [UInt8]) == bytes)
        #expect(try Coordinator_HeartbeatResponse(serializedBytes: [0x08, 0x01]).success)
    }

    @Test("TaskAssignment: task_id 1, circuit_type 2, input_data_json 3, created_at 4")
    func taskAssignment() throws {
        let bytes: [UInt8] =
            Self.text(0x0a, "t-1") + Self.text(0x12, "merkle_proof") + Self.text(0x1a, "{\"leaves\":[]}")
            + [0x20, 0x80, 0xe2, 0xcf, 0xaa, 0x06]
        let message = try Coordinator_TaskAssignment(serializedBytes: bytes)
        #expect(message.taskID == "t-1" && message.circuitType == "merkle_proof")
        #expect(Array(message.inputDataJson) == Array("{\"leaves\":[]}".utf8))
        #expect(message.createdAt == 1_700_000_000)
        // An original sender sets no kind: it reads as a task, as the original meant it.
        #expect(message.kind == .task)
        #expect(try Array(message.serializedBytes() as [UInt8]) == bytes)
        #expect(try Coordinator_ReceiveTasksRequest(serializedBytes: Self.text(0x0a, "w")).workerID == "w")
    }

    @Test("StartTask, ReportCompletion and ReportFailure keep their fields")
    func reports() throws {
        let start = try Coordinator_StartTaskRequest(serializedBytes: Self.text(0x0a, "t") + Self.text(0x12, "w"))
        #expect(start.taskID == "t" && start.workerID == "w")

        let completion: [UInt8] =
            Self.text(0x0a, "t") + Self.text(0x12, "w") + [0x1a, 0x03, 1, 2, 3]
            + Self.text(0x22, "{\"witness\":[\"5\"]}")
            + Self.text(0x2a, "5") + [0x30, 0xe8, 0x07]
        let report = try Coordinator_TaskCompletionRequest(serializedBytes: completion)
        #expect(report.taskID == "t" && report.workerID == "w" && Array(report.proofData) == [1, 2, 3])
        #expect(Array(report.proofMetadataJson) == Array("{\"witness\":[\"5\"]}".utf8))
        #expect(report.merkleRoot == "5" && report.durationMs == 1000)
        #expect(try Array(report.serializedBytes() as [UInt8]) == completion)

        let failure = Self.text(0x0a, "t") + Self.text(0x12, "w") + Self.text(0x1a, "bad leaf")
        let failed = try Coordinator_TaskFailureRequest(serializedBytes: failure)
        #expect(failed.errorMessage == "bad leaf")
        #expect(try Array(failed.serializedBytes() as [UInt8]) == failure)

        let answers: [[UInt8]] = [[0x08, 0x01] + Self.text(0x12, "Task completed successfully")]
        for bytes in answers {
            #expect(try Coordinator_TaskCompletionResponse(serializedBytes: bytes).success)
            #expect(
                try Coordinator_TaskFailureResponse(serializedBytes: bytes).message == "Task completed successfully")
            #expect(try Coordinator_StartTaskResponse(serializedBytes: bytes).success)
        }
    }

    @Test("new fields take new numbers, so an original peer skips them")
    func extensionsAreSkippable() throws {
        var message = Coordinator_TaskAssignment()
        message.taskID = "t"
        message.kind = .keepalive
        message.attempt = 3
        let bytes: [UInt8] = try message.serializedBytes()
        // Field 5 (varint 1) and field 6 (varint 3) after the original field 1.
        #expect(bytes == Self.text(0x0a, "t") + [0x28, 0x01, 0x30, 0x03])
    }
}
