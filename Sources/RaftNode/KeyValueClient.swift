import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Raft
import Synchronization
import Wire

/// A client of a key-value cluster: it sends each request to the server it believes
/// leads, follows redirects, and moves on when a server does not answer. Every call has
/// a timeout and every request a bounded number of attempts with backoff.
public final class KeyValueClusterClient: Sendable {
    public let addresses: [PeerAddress]
    private let clients: [GRPCClient<HTTP2ClientTransport.Posix>]
    /// Puts and gets go on one session stream per server; `status` is a plain call.
    private let sessions: [KeyValueSession]
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
        clients = try addresses.map { try GRPCSettings.client(to: $0) }
        sessions = addresses.map { _ in KeyValueSession(callTimeout: callTimeout) }
    }

    /// Runs the connections until cancelled; the other methods work while this runs.
    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            for client in clients { group.addTask { try await client.runConnections() } }
            for (client, session) in zip(clients, sessions) {
                group.addTask { await session.run(Raft_KeyValue.Client(wrapping: client)) }
            }
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
        try await retrying(startingAt: server) { target in
            let result = try await sessions[target].call(
                .put(
                    .with {
                        $0.key = key
                        $0.value = value
                    }))
            guard case .put(let answer) = result else { throw KeyValueSession.Failure.malformedResult }
            return answer.ok ? .done(answer.index) : .redirect(answer.leaderAddress, answer.error)
        }
    }

    /// Reads `key` linearizably.
    public func get(_ key: String, through server: Int? = nil) async throws -> String? {
        try await retrying(startingAt: server) { target in
            let result = try await sessions[target].call(.get(.with { $0.key = key }))
            guard case .get(let answer) = result else { throw KeyValueSession.Failure.malformedResult }
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
        _ call: (Int) async throws -> Outcome<Value>
    ) async throws -> Value {
        var target = server ?? preferred.withLock { $0 }
        var backoff = RetryBackoff(initial: .milliseconds(2), maximum: maximumBackoff)
        var lastError = "no attempt made"
        for _ in 0..<attempts {
            try Task.checkCancellation()
            do {
                let outcome = try await call(target)
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
            } catch let error as KeyValueClientError {
                throw error
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

/// One server's `Session` stream as a client sees it: calls from many tasks are queued,
/// written together, and completed by id as their results arrive. `run` opens the stream
/// and reopens it after it breaks: at once when a call is waiting (a call to a server that
/// is gone fails as fast as its connection is refused), otherwise after a backoff.
final class KeyValueSession: Sendable {
    enum Failure: Error, CustomStringConvertible {
        case unavailable(String)
        case timedOut
        case malformedResult

        var description: String {
            switch self {
            case .unavailable(let reason): "the session failed: \(reason)"
            case .timedOut: "no result within the call timeout"
            case .malformedResult: "the server's result does not answer the call (none, or a put's for a get)"
            }
        }
    }

    private struct State {
        var waiting: [UInt64: CheckedContinuation<Raft_SessionResult.OneOf_Response, any Error>] = [:]
        /// Every call made, by id, with when it times out.
        var deadlines = DeadlineQueue<UInt64>()
        var nextID: UInt64 = 0
        /// Set once the client stops: calls fail at once.
        var stopped = false
        /// The reopening loop, while it pauses and no call waits.
        var pause: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())
    /// Calls not yet written. Every call in it is also in `waiting` (both change under
    /// `state`'s lock), so a call failed on a broken stream is never sent on the next one.
    private let outgoing = Outbox<Raft_SessionCall>(capacity: nil)
    let callTimeout: Duration

    init(callTimeout: Duration) { self.callTimeout = callTimeout }

    /// Sends one put or get and returns the server's answer to it.
    func call(_ request: Raft_SessionCall.OneOf_Request) async throws -> Raft_SessionResult.OneOf_Response {
        try await withCheckedThrowingContinuation { continuation in
            let (refused, pause): (Bool, CheckedContinuation<Void, Never>?) = state.withLock { state in
                if state.stopped { return (true, nil) }
                state.nextID += 1
                state.waiting[state.nextID] = continuation
                state.deadlines.append(state.nextID, deadline: ContinuousClock.now + callTimeout)
                var call = Raft_SessionCall()
                call.id = state.nextID
                call.request = request
                outgoing.push(call)
                defer { state.pause = nil }
                return (false, state.pause)
            }
            if refused { continuation.resume(throwing: Failure.unavailable("the client stopped")) }
            pause?.resume()
        }
    }

    /// Keeps the stream open and expires overdue calls, until cancelled.
    func run(_ client: Raft_KeyValue.Client<HTTP2ClientTransport.Posix>) async {
        await withDiscardingTaskGroup { group in
            group.addTask { await self.expireOverdueCalls() }
            group.addTask { await self.keepOpen(client) }
        }
        state.withLock { $0.stopped = true }
        fail(because: "the client stopped")
    }

    private func keepOpen(_ client: Raft_KeyValue.Client<HTTP2ClientTransport.Posix>) async {
        var backoff = RetryBackoff(initial: .milliseconds(20), maximum: .seconds(1))
        var options = CallOptions.defaults
        // Fail at once on a refused connection rather than queue behind reconnection.
        options.waitForReady = false
        while !Task.isCancelled {
            let opened = ContinuousClock.now
            var reason = "the server ended the session"
            do {
                try await client.session(
                    options: options,
                    requestProducer: { writer in
                        while let batch = await self.outgoing.next() {
                            try await writer.write(.with { $0.calls = batch })
                        }
                    },
                    onResponse: { response in
                        for try await message in response.messages { self.complete(message.results) }
                    })
            } catch {
                reason = "\(error)"
            }
            if Task.isCancelled { return }
            fail(because: reason)
            if ContinuousClock.now - opened > .seconds(1) { backoff.reset() }
            await pauseUntilCalled(orFor: backoff.next())
        }
    }

    /// Returns when a call is made, after `limit`, or on cancellation, whichever is first.
    private func pauseUntilCalled(orFor limit: Duration) async {
        let timer = Task {
            // Cancelled once the pause has ended otherwise: it must not end a later one.
            guard (try? await Task.sleep(for: limit)) != nil else { return }
            self.endPause()
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let called = state.withLock { state in
                    if !state.waiting.isEmpty { return true }
                    state.pause = continuation
                    return false
                }
                if called { continuation.resume() }
            }
        } onCancel: {
            endPause()
        }
        timer.cancel()
    }

    private func endPause() {
        state.withLock { state in
            defer { state.pause = nil }
            return state.pause
        }?.resume()
    }

    private func complete(_ results: [Raft_SessionResult]) {
        var done: [(CheckedContinuation<Raft_SessionResult.OneOf_Response, any Error>, Raft_SessionResult)] = []
        state.withLock { state in
            for result in results {
                if let waiting = state.waiting.removeValue(forKey: result.id) { done.append((waiting, result)) }
            }
        }
        for (continuation, result) in done {
            if !result.invalidArgument.isEmpty {
                continuation.resume(throwing: KeyValueClientError.refused(result.invalidArgument))
            } else if let response = result.response {
                continuation.resume(returning: response)
            } else {
                continuation.resume(throwing: Failure.malformedResult)
            }
        }
    }

    /// Fails every call in flight (their outcome is unknown) and drops those not yet sent.
    private func fail(because reason: String) {
        let failed = state.withLock { state in
            defer {
                state.waiting = [:]
                state.deadlines.removeAll()
            }
            outgoing.removeAll()
            return Array(state.waiting.values)
        }
        for continuation in failed { continuation.resume(throwing: Failure.unavailable(reason)) }
    }

    private func expireOverdueCalls() async {
        let period = max(.milliseconds(1), min(callTimeout / 4, .milliseconds(50)))
        while !Task.isCancelled {
            try? await Task.sleep(for: period)
            let now = ContinuousClock.now
            let overdue = state.withLock { state in
                state.deadlines.removeDue(at: now).compactMap { state.waiting.removeValue(forKey: $0) }
            }
            for continuation in overdue { continuation.resume(throwing: Failure.timedOut) }
        }
    }
}
