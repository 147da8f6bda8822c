/// The answers of the worker protocol's unary RPCs, which all say the same four things:
/// whether it worked, a message, a code, and the leader's address when the coordinator
/// asked is not the leader.
public protocol CoordinatorAnswer: Sendable {
    init()
    var success: Bool { get set }
    var message: String { get set }
    var code: Coordinator_ErrorCode { get set }
    var leaderGrpcAddress: String { get set }
}

extension Coordinator_RegisterWorkerResponse: CoordinatorAnswer {}
extension Coordinator_HeartbeatResponse: CoordinatorAnswer {}
extension Coordinator_StartTaskResponse: CoordinatorAnswer {}
extension Coordinator_TaskCompletionResponse: CoordinatorAnswer {}
extension Coordinator_TaskFailureResponse: CoordinatorAnswer {}
extension Coordinator_DeregisterWorkerResponse: CoordinatorAnswer {}
extension Coordinator_UploadArtifactResponse: CoordinatorAnswer {}
