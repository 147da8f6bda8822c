import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Raft
import Synchronization
import Wire

/// `raft.KeyValue` served by one server: puts go through Raft (a follower answers with
/// the leader's address), gets are linearizable on any server (ReadIndex).
public struct KeyValueService: Raft_KeyValue.SimpleServiceProtocol {
    let server: RaftServer
    let machine: KeyValueStateMachine

    public init(server: RaftServer, machine: KeyValueStateMachine) {
        self.server = server
        self.machine = machine
    }

    public func put(request: Raft_PutRequest, context: ServerContext) async throws -> Raft_PutResponse {
        try await put(request)
    }

    public func get(request: Raft_GetRequest, context: ServerContext) async throws -> Raft_GetResponse {
        try await get(request)
    }

    /// How many calls of one session may be in flight; the session reads no further calls
    /// until one completes.
    static let sessionCallsInFlight = 1024

    public func session(
        request: RPCAsyncSequence<Raft_SessionRequest, any Error>, response: RPCWriter<Raft_SessionResponse>,
        context: ServerContext
    ) async throws {
        let results = Outbox<Raft_SessionResult>(capacity: nil)
        try await withThrowingDiscardingTaskGroup { session in
            session.addTask {
                while let batch = await results.next() { try await response.write(.with { $0.results = batch }) }
            }
            try await withThrowingTaskGroup(of: Void.self) { calls in
                var unreaped = 0
                for try await message in request {
                    for call in message.calls {
                        if unreaped >= Self.sessionCallsInFlight {
                            try await calls.next()
                            unreaped -= 1
                        }
                        calls.addTask { results.push(await self.answer(call)) }
                        unreaped += 1
                    }
                }
                try await calls.waitForAll()
            }
            results.finish()
        }
    }

    private func answer(_ call: Raft_SessionCall) async -> Raft_SessionResult {
        // Put and get throw only for malformed requests; that becomes the result's refusal.
        var result = Raft_SessionResult()
        result.id = call.id
        do {
            switch call.request {
            case .put(let put): result.put = try await self.put(put)
            case .get(let get): result.get = try await self.get(get)
            case nil: result.invalidArgument = "the call has neither a put nor a get"
            }
        } catch {
            result.invalidArgument = error.message
        }
        return result
    }

    private func put(_ request: Raft_PutRequest) async throws(RPCError) -> Raft_PutResponse {
        try Self.validate(key: request.key, value: request.value)
        var response = Raft_PutResponse()
        do {
            let outcome = try await server.node.propose(KeyValueStateMachine.put(request.key, request.value))
            response.ok = true
            response.index = outcome.index
        } catch {
            (response.leaderID, response.leaderAddress, response.error) = refusal(error)
        }
        return response
    }

    private func get(_ request: Raft_GetRequest) async throws(RPCError) -> Raft_GetResponse {
        try Self.validate(key: request.key, value: "")
        var response = Raft_GetResponse()
        do {
            try await server.node.linearizableRead()
            response.ok = true
            if let value = machine.value(for: request.key) {
                response.found = true
                response.value = value
            }
        } catch {
            (response.leaderID, response.leaderAddress, response.error) = refusal(error)
        }
        return response
    }

    /// A failed request's answer: the known leader and its address for a redirect, and why.
    private func refusal(_ error: any Error) -> (NodeID, String, String) {
        guard case RaftNodeError.notLeader(let leader) = error, leader != 0 else { return (0, "", "\(error)") }
        return (leader, server.transport.address(of: leader)?.description ?? "", "\(error)")
    }

    public func status(request: Raft_StatusRequest, context: ServerContext) async throws -> Raft_StatusResponse {
        let status = await server.status()
        return .with {
            $0.id = status.node.id
            $0.role = status.node.role.rawValue
            $0.term = status.node.term
            $0.leaderID = status.node.leader
            $0.commitIndex = status.node.commitIndex
            $0.appliedIndex = status.node.appliedIndex
            $0.lastIndex = status.node.lastIndex
            $0.leaderAddress = status.leaderAddress?.description ?? ""
            $0.peers = status.peers.map { peer in
                .with {
                    $0.id = peer.id
                    $0.address = peer.address.description
                    $0.millisecondsSinceContact = peer.sinceLastContact.map { $0.milliseconds } ?? -1
                }
            }
        }
    }

    /// Keys and values are stored NUL-separated, so NUL is refused in either.
    static func validate(key: String, value: String) throws(RPCError) {
        guard !key.isEmpty else { throw RPCError(code: .invalidArgument, message: "the key is empty") }
        guard !key.utf8.contains(0) else { throw RPCError(code: .invalidArgument, message: "the key contains NUL") }
        guard !value.utf8.contains(0) else {
            throw RPCError(code: .invalidArgument, message: "the value contains NUL")
        }
    }
}

extension Duration {
    /// Whole milliseconds, rounded down.
    fileprivate var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
