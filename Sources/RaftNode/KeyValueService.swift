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

    public func get(request: Raft_GetRequest, context: ServerContext) async throws -> Raft_GetResponse {
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
        let status = await server.node.status
        return .with {
            $0.id = status.id
            $0.role = status.role.rawValue
            $0.term = status.term
            $0.leaderID = status.leader
            $0.commitIndex = status.commitIndex
            $0.appliedIndex = status.appliedIndex
            $0.lastIndex = status.lastIndex
        }
    }

    /// Keys and values are stored NUL-separated, so NUL is refused in either.
    static func validate(key: String, value: String) throws {
        guard !key.isEmpty else { throw RPCError(code: .invalidArgument, message: "the key is empty") }
        guard !key.utf8.contains(0) else { throw RPCError(code: .invalidArgument, message: "the key contains NUL") }
        guard !value.utf8.contains(0) else {
            throw RPCError(code: .invalidArgument, message: "the value contains NUL")
        }
    }
}

/// A client of a key-value cluster: it sends each request to the server it believes
/// leads, follows redirects, and moves on when a server does not answer. Every call has
/// a timeout and every request a bounded number of attempts with backoff.
public final class KeyValueClusterClient: Sendable {
    public let addresses: [PeerAddress]
    private let clients: [GRPCClient<HTTP2ClientTransport.Posix>]
    private let preferred = Mutex(0)
    /// Servers that recently failed to answer, until when: tried last while it lasts.
    private let suspects = Mutex<[Int: ContinuousClock.Instant]>([:])
    let callTimeout: Duration
    let attempts: Int
    let maximumBackoff: Duration

    public init(
        addresses: [PeerAddress], callTimeout: Duration = .seconds(2), attempts: Int = 40,
        maximumBackoff: Duration = .milliseconds(200)
    ) throws {
        precondition(!addresses.isEmpty, "a cluster client needs at least one address")
        self.addresses = addresses
        self.callTimeout = callTimeout
        self.attempts = attempts
        self.maximumBackoff = maximumBackoff
        clients = try addresses.map { address in
            GRPCClient(
                transport: try HTTP2ClientTransport.Posix(
                    target: address.isIPv4Literal
                        ? .ipv4(address: address.host, port: address.port)
                        : .dns(host: address.host, port: address.port),
                    transportSecurity: .plaintext,
                    config: .defaults { config in
                        config.backoff = .init(
                            initial: .milliseconds(20), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
                    }))
        }
    }

    /// Runs the connections until cancelled; the other methods work while this runs.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for client in clients { group.addTask { try await client.runConnections() } }
            try await withTaskCancellationHandler {
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            } onCancel: {
                for client in self.clients { client.beginGracefulShutdown() }
            }
        }
    }

    public func stop() { for client in clients { client.beginGracefulShutdown() } }

    /// Runs `body` while this client's connections run, and stops them afterwards.
    public func withConnections<Value: Sendable>(
        _ body: @Sendable (KeyValueClusterClient) async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            defer { group.cancelAll() }
            return try await body(self)
        }
    }

    /// Writes `key`; returns the log index it committed at.
    @discardableResult
    public func put(_ key: String, _ value: String, through server: Int? = nil) async throws -> LogIndex {
        try await retrying(startingAt: server) { stub, options in
            let answer = try await stub.put(
                .with {
                    $0.key = key
                    $0.value = value
                }, options: options)
            return answer.ok ? .done(answer.index) : .redirect(answer.leaderAddress, answer.error)
        }
    }

    /// Reads `key` linearizably.
    public func get(_ key: String, through server: Int? = nil) async throws -> String? {
        try await retrying(startingAt: server) { stub, options in
            let answer = try await stub.get(.with { $0.key = key }, options: options)
            return answer.ok ? .done(answer.found ? answer.value : nil) : .redirect(answer.leaderAddress, answer.error)
        }
    }

    private func clearSuspicion(_ server: Int) { _ = suspects.withLock { $0.removeValue(forKey: server) } }

    private func isSuspected(_ server: Int) -> Bool {
        let now = ContinuousClock.now
        return suspects.withLock { ($0[server] ?? now) > now }
    }

    private func nextTarget(after current: Int) -> Int {
        let now = ContinuousClock.now
        let suspected = suspects.withLock { suspects in
            suspects = suspects.filter { $0.value > now }
            return Set(suspects.keys)
        }
        for step in 1...addresses.count {
            let candidate = (current + step) % addresses.count
            if !suspected.contains(candidate) { return candidate }
        }
        return (current + 1) % addresses.count
    }

    public func status(of server: Int) async throws -> Raft_StatusResponse {
        var options = CallOptions.defaults
        options.timeout = callTimeout
        let status = try await Raft_KeyValue.Client(wrapping: clients[server]).status(.init(), options: options)
        clearSuspicion(server)
        return status
    }

    enum Outcome<Value: Sendable>: Sendable {
        case done(Value)
        case redirect(String, String)
    }

    private func retrying<Value: Sendable>(
        startingAt server: Int?,
        _ call: (Raft_KeyValue.Client<HTTP2ClientTransport.Posix>, CallOptions) async throws -> Outcome<Value>
    ) async throws -> Value {
        var target = server ?? preferred.withLock { $0 }
        var backoff = RetryBackoff(initial: .milliseconds(2), maximum: maximumBackoff)
        var lastError = "no attempt made"
        var options = CallOptions.defaults
        options.timeout = callTimeout
        for _ in 0..<attempts {
            try Task.checkCancellation()
            do {
                let outcome = try await call(Raft_KeyValue.Client(wrapping: clients[target]), options)
                clearSuspicion(target)
                switch outcome {
                case .done(let value):
                    if server == nil { preferred.withLock { $0 = target } }
                    return value
                case .redirect(let leader, let error):
                    lastError = "\(addresses[target]): \(error)"
                    // Follow a redirect, unless to a server that just failed to answer (a
                    // follower names its old leader until it notices the loss).
                    if let index = addresses.firstIndex(where: { $0.description == leader }), index != target,
                        !isSuspected(index)
                    {
                        target = index
                        continue
                    }
                }
            } catch let error as RPCError where error.code == .invalidArgument {
                throw KeyValueClientError.refused(error.message)
            } catch {
                lastError = "\(addresses[target]): \(error)"
                let until = ContinuousClock.now + callTimeout * 2
                suspects.withLock { $0[target] = until }
            }
            // No leader known, or this server is unreachable: try the next one after a pause,
            // skipping servers that recently did not answer while others remain.
            target = nextTarget(after: target)
            try await Task.sleep(for: backoff.next())
        }
        throw KeyValueClientError.unavailable(attempts: attempts, lastError: lastError)
    }
}

public enum KeyValueClientError: Error, CustomStringConvertible {
    case refused(String)
    case unavailable(attempts: Int, lastError: String)

    public var description: String {
        switch self {
        case .refused(let reason): "the request was refused: \(reason)"
        case .unavailable(let attempts, let lastError):
            "no server completed the request in \(attempts) attempts; last: \(lastError)"
        }
    }
}
