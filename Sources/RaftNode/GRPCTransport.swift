import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import GRPCProtobuf
import Logging
import NIOCore
import NIOPosix
import Raft
import Synchronization
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a server listens, `host:port`.
public struct PeerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port` (an IPv6 host in brackets: `[::1]:7000`).
    public init(parsing text: String) throws(RaftNodeConfigurationError) {
        guard let colon = text.lastIndex(of: ":") else {
            throw .invalid("address \"\(text)\" has no port; expected host:port")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw .invalid("address \"\(text)\" has no host; expected host:port") }
        guard let port = Int(text[text.index(after: colon)...]), (1...65_535).contains(port) else {
            throw .invalid("address \"\(text)\" has no valid port (1–65535)")
        }
        self.init(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    var isIPv4Literal: Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// A configuration mistake, named.
public enum RaftNodeConfigurationError: Error, Equatable, CustomStringConvertible {
    case invalid(String)
    /// The node has no state, is not bootstrapping, and knows no peers to be contacted by.
    case noKnownPeers

    public var description: String {
        switch self {
        case .invalid(let reason): reason
        case .noKnownPeers:
            "no known peers: this node has no Raft state, is not bootstrapping a cluster, and has no peers configured"
        }
    }
}

/// Mutual TLS on the Raft port: each server presents its certificate and accepts only
/// peers whose certificates chain to the CA (client certificates are required).
public struct RaftTLS: Sendable, Equatable {
    public var certificateFile: String
    public var keyFile: String
    public var caFile: String

    public init(certificateFile: String, keyFile: String, caFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.caFile = caFile
    }

    /// Checks that the three files exist, so a typo is reported at start-up, by name.
    public func validate() throws(RaftNodeConfigurationError) {
        for (key, path) in [("cert_file", certificateFile), ("key_file", keyFile), ("ca_file", caFile)] {
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw .invalid("raft.tls.\(key) \"\(path)\" is not a readable file")
            }
        }
    }
}

/// The Raft traffic of one server over gRPC (service `raft.RaftTransport`): a server on
/// its Raft port and, for each peer, an ordered replication stream and unary calls for
/// votes, reads and transfers. A reply goes back on the call that carried its request.
///
/// It also watches for a crashed leader: when the leader's replication stream to this
/// server breaks and the leader's port then refuses a connection, the process is gone
/// (a partition or a stalled process leaves the port silent or accepting instead), so
/// the node campaigns at once rather than after an election timeout.
public final class GRPCRaftTransport: RaftTransport, Sendable {
    public let id: NodeID
    public let listenAddress: PeerAddress
    private let tls: RaftTLS?
    private let logger: Logger
    private let node = Mutex<RaftNode?>(nil)
    private let links = Mutex<[NodeID: PeerLink]>([:])
    private let collectors = Mutex(ReplyCollectors())
    private let lastContacts = Mutex<[NodeID: ContinuousClock.Instant]>([:])
    private let newLinks: AsyncStream<PeerLink>
    private let newLinksContinuation: AsyncStream<PeerLink>.Continuation
    /// A bound on calls other than the replication stream, so a dead peer cannot hold them.
    private let requestTimeout: Duration
    /// The largest snapshot a peer may send.
    static let maximumSnapshotBytes: UInt64 = 4 << 30
    static let snapshotChunkBytes = 1 << 20
    /// Entry data in one write of the replication stream: well under gRPC's 4 MiB limit
    /// with room for one append of `RaftConfig.maxBytesPerMessage` (1 MiB by default).
    static let maximumWriteBytes = 2 << 20

    public init(
        id: NodeID, listen: PeerAddress, peers: [NodeID: PeerAddress], tls: RaftTLS? = nil,
        requestTimeout: Duration = .seconds(1), logger: Logger = Logger(label: "zkp.raft.transport")
    ) throws {
        self.id = id
        self.listenAddress = listen
        self.tls = tls
        self.logger = logger
        self.requestTimeout = requestTimeout
        (newLinks, newLinksContinuation) = AsyncStream.makeStream()
        if let tls { try tls.validate() }
        for (peer, address) in peers where peer != id { try addPeer(peer, at: address) }
    }

    /// Connects the node whose messages this transport carries.
    public func attach(_ node: RaftNode) { self.node.withLock { $0 = node } }

    /// Adds a peer (before a membership change that adds it).
    public func addPeer(_ peer: NodeID, at address: PeerAddress) throws {
        let link = try PeerLink(peer: peer, address: address, security: clientSecurity)
        let added = links.withLock { links in
            guard links[peer] == nil else { return false }
            links[peer] = link
            return true
        }
        if added { newLinksContinuation.yield(link) }
    }

    public func address(of peer: NodeID) -> PeerAddress? {
        peer == id ? listenAddress : links.withLock { $0[peer]?.address }
    }

    /// Every known peer, its address, and how long ago it was last heard from (nil: not
    /// since this server started).
    public func peerContacts() -> [PeerContact] {
        let now = ContinuousClock.now
        let contacts = lastContacts.withLock { $0 }
        return links.withLock { $0 }.values.map { link in
            PeerContact(id: link.peer, address: link.address, sinceLastContact: contacts[link.peer].map { now - $0 })
        }.sorted { $0.id < $1.id }
    }

    // MARK: Running

    /// Serves the Raft port (with `services` beside Raft's) and keeps the peer connections
    /// until cancelled.
    public func run(services: [any RegistrableRPCService] = []) async throws {
        let server = GRPCServer(
            transport: .http2NIOPosix(
                address: !listenAddress.host.contains(":")
                    ? .ipv4(host: listenAddress.host, port: listenAddress.port)
                    : .ipv6(host: listenAddress.host, port: listenAddress.port),
                transportSecurity: serverSecurity, config: GRPCSettings.serverConfig()),
            services: [RaftTransportService(transport: self)] + services)
        // The server runs in a task of its own, never cancelled while it accepts: NIO traps
        // on a connection it accepted but could not hand over (swift-nio #2637). It is shut
        // down gracefully first, and cancelled only once it has stopped accepting, since the
        // peers' replication streams never end by themselves.
        let serving = Task { try await server.serve() }
        try await withTaskCancellationHandler {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await serving.value }
                // Ends when this task is cancelled (or the server fails and cancels the group).
                for await link in newLinks { group.addTask { await self.run(link) } }
            }
        } onCancel: {
            server.beginGracefulShutdown()
            Task {
                try? await Task.sleep(for: .milliseconds(500))
                serving.cancel()
            }
        }
        _ = await serving.result
    }

    private var serverSecurity: HTTP2ServerTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        return .mTLS(
            certificateChain: [.file(path: tls.certificateFile, format: .pem)],
            privateKey: .file(path: tls.keyFile, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.file(path: tls.caFile, format: .pem)])
            config.clientCertificateVerification = .noHostnameVerification
        }
    }

    private var clientSecurity: HTTP2ClientTransport.Posix.TransportSecurity {
        guard let tls else { return .plaintext }
        return .mTLS(
            certificateChain: [.file(path: tls.certificateFile, format: .pem)],
            privateKey: .file(path: tls.keyFile, format: .pem)
        ) { config in
            config.trustRoots = .certificates([.file(path: tls.caFile, format: .pem)])
            config.serverCertificateVerification = .fullVerification
        }
    }

    private func run(_ link: PeerLink) async {
        await withDiscardingTaskGroup { group in
            group.addTask {
                do { try await link.client.runConnections() } catch {
                    self.logger.warning("connections to server \(link.peer) ended: \(error)")
                }
            }
            group.addTask { await self.replicate(over: link) }
            group.addTask { await self.sendRequests(over: link) }
            await withTaskCancellationHandler {
                while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
            } onCancel: {
                link.client.beginGracefulShutdown()
            }
        }
    }

    // MARK: Outgoing

    public func send(_ messages: [Message]) {
        var replication: [NodeID: [Message]] = [:]
        var requests: [NodeID: [Message]] = [:]
        for message in messages {
            if message.kind.isReply && collectors.withLock({ $0.take(message) }) { continue }
            switch message.kind {
            case .append, .heartbeat, .appendResponse, .heartbeatResponse:
                replication[message.to, default: []].append(message)
            default: requests[message.to, default: []].append(message)
            }
        }
        guard !replication.isEmpty || !requests.isEmpty else { return }
        let links = self.links.withLock { $0 }
        for (peer, batch) in replication { links[peer]?.replication.push(batch) }
        for (peer, batch) in requests { links[peer]?.requests.push(batch) }
    }

    /// The replication stream to one peer, reopened (with bounded backoff) whenever it breaks.
    private func replicate(over link: PeerLink) async {
        var backoff = RetryBackoff(initial: .milliseconds(5), maximum: .milliseconds(500))
        while !Task.isCancelled {
            let opened = ContinuousClock.now
            do {
                try await link.stub.appendEntries(
                    requestProducer: { writer in
                        while let batch = await link.replication.next() {
                            for write in ReplicationBatching.writes(batch, maximumBytes: Self.maximumWriteBytes) {
                                try await writer.write(.with { $0.messages = write.map(\.wire) })
                            }
                        }
                    },
                    onResponse: { response in
                        for try await answer in response.messages {
                            await self.deliver(answer.messages, from: link.peer)
                        }
                    })
            } catch {
                if Task.isCancelled { return }
                logger.debug("replication stream to server \(link.peer) broke: \(error)")
            }
            if Task.isCancelled { return }
            if ContinuousClock.now - opened > .seconds(1) { backoff.reset() }
            await node.withLock({ $0 })?.peerUnreachable(link.peer)
            try? await Task.sleep(for: backoff.next())
        }
    }

    private func sendRequests(over link: PeerLink) async {
        await withDiscardingTaskGroup { group in
            while let batch = await link.requests.next() {
                for message in batch { group.addTask { await self.request(message, over: link) } }
            }
        }
    }

    private func request(_ message: Message, over link: PeerLink) async {
        var options = CallOptions.defaults
        options.timeout = requestTimeout
        do {
            switch message.kind {
            case .snapshot:
                try await sendSnapshot(message, over: link)
            case .timeoutNow:
                let answer = try await link.stub.timeoutNow(.with { $0.messages = [message.wire] }, options: options)
                await deliver(answer.messages, from: link.peer)
            case .readIndex, .readIndexResponse:
                let answer = try await link.stub.readIndex(.with { $0.messages = [message.wire] }, options: options)
                await deliver(answer.messages, from: link.peer)
            default:
                let answer = try await link.stub.requestVote(.with { $0.messages = [message.wire] }, options: options)
                await deliver(answer.messages, from: link.peer)
            }
        } catch {
            logger.debug("\(message.kind) to server \(link.peer) failed: \(error)")
            if message.kind == .snapshot { await node.withLock({ $0 })?.snapshotFailed(link.peer) }
            await probeIfLeader(link.peer)
        }
    }

    private func sendSnapshot(_ message: Message, over link: PeerLink) async throws {
        guard let snapshot = message.snapshot else { return }
        var stripped = message
        stripped.snapshot = nil
        let header = stripped
        let image = snapshot.data
        var options = CallOptions.defaults
        // A snapshot may be large: allow a second per 8 MiB on top of the usual bound.
        options.timeout = requestTimeout + .seconds(1 + image.count / (8 << 20))
        let answer = try await link.stub.installSnapshot(
            options: options,
            requestProducer: { writer in
                var offset = 0
                repeat {
                    let end = min(image.count, offset + Self.snapshotChunkBytes)
                    var chunk = Raft_InstallSnapshotChunk()
                    if offset == 0 {
                        chunk.header = header.wire
                        chunk.snapshotIndex = snapshot.index
                        chunk.snapshotTerm = snapshot.term
                        chunk.configuration = snapshot.configuration.wire
                        chunk.totalSize = UInt64(image.count)
                    }
                    chunk.offset = UInt64(offset)
                    chunk.data = Data(image[offset..<end])
                    chunk.done = end == image.count
                    try await writer.write(chunk)
                    offset = end
                } while offset < image.count
            })
        await deliver(answer.messages, from: link.peer)
    }

    /// Replies that came back on a call of ours.
    private func deliver(_ wire: [Raft_RaftMessage], from peer: NodeID) async {
        guard !wire.isEmpty, let node = node.withLock({ $0 }) else { return }
        do {
            let messages = try decode(wire, expectedSender: peer)
            noteContact(peer)
            await node.receive(messages)
        } catch {
            logger.warning("dropped a malformed reply from server \(peer): \(error)")
        }
    }

    // MARK: Incoming

    /// Steps messages from a peer into the node and returns the replies it produced meanwhile.
    fileprivate func exchange(_ wire: [Raft_RaftMessage], call: IncomingCall) async throws -> [Raft_RaftMessage] {
        let messages: [Message]
        do {
            messages = try decode(wire, expectedSender: nil)
        } catch {
            throw RPCError(code: .invalidArgument, message: "\(call.rawValue): \(error)")
        }
        for message in messages where !call.carries(message.kind) {
            throw RPCError(code: .invalidArgument, message: "\(call.rawValue) does not carry \(message.kind) messages")
        }
        return try await exchange(messages)
    }

    fileprivate func exchange(_ messages: [Message]) async throws -> [Raft_RaftMessage] {
        guard let sender = messages.first?.from else { return [] }
        guard let node = node.withLock({ $0 }) else {
            throw RPCError(code: .unavailable, message: "server \(id) is starting")
        }
        noteContact(sender)
        let token = collectors.withLock { $0.open(for: sender) }
        await node.receive(messages)
        return collectors.withLock { $0.close(token) }.map(\.wire)
    }

    private func decode(_ wire: [Raft_RaftMessage], expectedSender: NodeID?) throws(WireMessageError) -> [Message] {
        var messages: [Message] = []
        messages.reserveCapacity(wire.count)
        for item in wire {
            let message = try Message(wire: item, receiver: id)
            if message.kind == .snapshot { throw WireMessageError("a snapshot outside InstallSnapshot") }
            if let first = messages.first, first.from != message.from {
                throw WireMessageError("one call carries messages from servers \(first.from) and \(message.from)")
            }
            if let expectedSender, message.from != expectedSender {
                throw WireMessageError("server \(expectedSender) answered for server \(message.from)")
            }
            messages.append(message)
        }
        return messages
    }

    fileprivate func receiveSnapshot(_ chunks: RPCAsyncSequence<Raft_InstallSnapshotChunk, any Error>) async throws
        -> [Raft_RaftMessage]
    {
        var header: Raft_InstallSnapshotChunk?
        var image: [UInt8] = []
        var done = false
        for try await chunk in chunks {
            if header == nil {
                guard chunk.hasHeader else {
                    throw RPCError(code: .invalidArgument, message: "InstallSnapshot: the first chunk has no header")
                }
                guard chunk.totalSize <= Self.maximumSnapshotBytes else {
                    throw RPCError(
                        code: .invalidArgument,
                        message:
                            "InstallSnapshot: \(chunk.totalSize) bytes exceeds the \(Self.maximumSnapshotBytes)-byte limit"
                    )
                }
                header = chunk
                image.reserveCapacity(Int(chunk.totalSize))
            }
            guard !done else {
                throw RPCError(code: .invalidArgument, message: "InstallSnapshot: a chunk after the last")
            }
            guard chunk.offset == UInt64(image.count) else {
                throw RPCError(
                    code: .invalidArgument,
                    message: "InstallSnapshot: a chunk at offset \(chunk.offset), expected \(image.count)")
            }
            guard UInt64(image.count + chunk.data.count) <= header!.totalSize else {
                throw RPCError(code: .invalidArgument, message: "InstallSnapshot: more bytes than the announced size")
            }
            image.append(contentsOf: chunk.data)
            done = chunk.done
        }
        guard let header, done, UInt64(image.count) == header.totalSize else {
            throw RPCError(
                code: .invalidArgument,
                message: "InstallSnapshot: the stream ended at byte \(image.count) of \(header?.totalSize ?? 0)")
        }
        do {
            var message = try Message(wire: header.header, receiver: id)
            guard message.kind == .snapshot else { throw WireMessageError("the header is a \(message.kind) message") }
            message.snapshot = Snapshot(
                index: header.snapshotIndex, term: header.snapshotTerm,
                configuration: try Configuration(wire: header.configuration), data: image)
            return try await exchange([message])
        } catch let error as WireMessageError {
            throw RPCError(code: .invalidArgument, message: "InstallSnapshot: \(error)")
        }
    }

    /// The replication stream from `peer` ended. If `peer` leads this server and its port
    /// now refuses connections, its process is gone: tell the node.
    fileprivate func inboundStreamEnded(from peer: NodeID) async {
        logger.debug("replication stream from server \(peer) ended")
        await probeIfLeader(peer)
    }

    /// Probes at most this many times, this far apart: a process killed by a signal resets
    /// its connections a moment before the kernel closes its listening socket, and a probe
    /// in between is still accepted.
    static let probeAttempts = 5
    static let probeSpacing = Duration.milliseconds(20)

    private func probeIfLeader(_ peer: NodeID) async {
        guard let node = node.withLock({ $0 }), let address = address(of: peer), peer != id else { return }
        for attempt in 1...Self.probeAttempts {
            let status = await node.status
            guard status.role == .follower, status.leader == peer else {
                logger.debug("server \(peer) is not this follower's leader (\(status.role), leader \(status.leader))")
                return
            }
            if await Self.refusesConnections(address) {
                logger.info(
                    "server \(peer), the leader, refuses connections: campaigning without waiting for the timeout")
                await node.peerRefusedConnection(peer)
                return
            }
            if attempt < Self.probeAttempts { try? await Task.sleep(for: Self.probeSpacing) }
        }
        logger.debug("server \(peer), the leader, accepts connections: waiting for the election timeout")
    }

    /// Whether a TCP connection to `address` is refused (nothing listens there), as opposed
    /// to accepted or unanswered.
    static func refusesConnections(_ address: PeerAddress) async -> Bool {
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(250))
        do {
            let channel = try await bootstrap.connect(host: address.host, port: address.port).get()
            try? await channel.close().get()
            return false
        } catch let error as NIOConnectionError {
            return !error.connectionErrors.isEmpty
                && error.connectionErrors.allSatisfy { ($0.error as? IOError)?.errnoCode == ECONNREFUSED }
        } catch let error as IOError {
            return error.errnoCode == ECONNREFUSED
        } catch {
            return false
        }
    }

    private func noteContact(_ peer: NodeID) {
        let now = ContinuousClock.now
        lastContacts.withLock { $0[peer] = now }
    }
}

/// A peer as the transport sees it.
public struct PeerContact: Sendable, Equatable {
    public var id: NodeID
    public var address: PeerAddress
    /// How long ago a message from it last arrived; nil if none since this server started.
    public var sinceLastContact: Duration?
}

/// The calls of `raft.RaftTransport` and the message kinds each may carry.
enum IncomingCall: String {
    case appendEntries = "AppendEntries"
    case requestVote = "RequestVote"
    case timeoutNow = "TimeoutNow"
    case readIndex = "ReadIndex"

    func carries(_ kind: MessageKind) -> Bool {
        switch self {
        case .appendEntries: [.append, .heartbeat, .appendResponse, .heartbeatResponse].contains(kind)
        case .requestVote: [.vote, .preVote, .voteResponse, .preVoteResponse].contains(kind)
        case .timeoutNow: kind == .timeoutNow
        case .readIndex: kind == .readIndex || kind == .readIndexResponse
        }
    }
}

/// Replies the node produces while an incoming call is open, taken out of the outgoing
/// path so they travel back on that call.
struct ReplyCollectors {
    private var open: [(token: UInt64, peer: NodeID, replies: [Message])] = []
    private var nextToken: UInt64 = 0

    mutating func open(for peer: NodeID) -> UInt64 {
        nextToken += 1
        open.append((nextToken, peer, []))
        return nextToken
    }

    mutating func take(_ message: Message) -> Bool {
        guard let slot = open.firstIndex(where: { $0.peer == message.to }) else { return false }
        open[slot].replies.append(message)
        return true
    }

    mutating func close(_ token: UInt64) -> [Message] {
        guard let slot = open.firstIndex(where: { $0.token == token }) else { return [] }
        return open.remove(at: slot).replies
    }
}

/// One peer: its gRPC client and the two queues feeding it.
final class PeerLink: Sendable {
    let peer: NodeID
    let address: PeerAddress
    let client: GRPCClient<HTTP2ClientTransport.Posix>
    let stub: Raft_RaftTransport.Client<HTTP2ClientTransport.Posix>
    /// Appends and heartbeats (and their answers when no call is open to carry them), in order.
    let replication = Outbox<Message>(capacity: 8192)
    /// Votes, transfers, reads and snapshots: independent calls.
    let requests = Outbox<Message>(capacity: 1024)

    init(peer: NodeID, address: PeerAddress, security: HTTP2ClientTransport.Posix.TransportSecurity) throws {
        self.peer = peer
        self.address = address
        let transport = try HTTP2ClientTransport.Posix(
            target: address.isIPv4Literal
                ? .ipv4(address: address.host, port: address.port) : .dns(host: address.host, port: address.port),
            transportSecurity: security,
            config: GRPCSettings.clientConfig())
        client = GRPCClient(transport: transport)
        stub = Raft_RaftTransport.Client(wrapping: client)
    }
}

/// Exponential backoff with a ceiling, for reconnecting.
public struct RetryBackoff: Sendable {
    public let initial: Duration
    public let maximum: Duration
    private var current: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        current = initial
    }

    /// The delay before the next attempt: `initial`, doubling up to `maximum`.
    public mutating func next() -> Duration {
        defer { current = min(maximum, current * 2) }
        return current
    }

    public mutating func reset() { current = initial }
}

/// The server side of `raft.RaftTransport`.
struct RaftTransportService: Raft_RaftTransport.SimpleServiceProtocol {
    let transport: GRPCRaftTransport

    func appendEntries(
        request: RPCAsyncSequence<Raft_AppendEntriesRequest, any Error>,
        response: RPCWriter<Raft_AppendEntriesResponse>, context: ServerContext
    ) async throws {
        var sender: NodeID = 0
        do {
            for try await batch in request {
                if let from = batch.messages.first?.from { sender = from }
                let replies = try await transport.exchange(batch.messages, call: .appendEntries)
                if !replies.isEmpty { try await response.write(.with { $0.messages = replies }) }
            }
        } catch {
            if sender != 0 { await transport.inboundStreamEnded(from: sender) }
            throw error
        }
        if sender != 0 { await transport.inboundStreamEnded(from: sender) }
    }

    func requestVote(request: Raft_RequestVoteRequest, context: ServerContext) async throws -> Raft_RequestVoteResponse
    {
        let replies = try await transport.exchange(request.messages, call: .requestVote)
        return .with { $0.messages = replies }
    }

    func installSnapshot(
        request: RPCAsyncSequence<Raft_InstallSnapshotChunk, any Error>, context: ServerContext
    ) async throws -> Raft_InstallSnapshotResponse {
        let replies = try await transport.receiveSnapshot(request)
        return .with { $0.messages = replies }
    }

    func timeoutNow(request: Raft_TimeoutNowRequest, context: ServerContext) async throws -> Raft_TimeoutNowResponse {
        let replies = try await transport.exchange(request.messages, call: .timeoutNow)
        return .with { $0.messages = replies }
    }

    func readIndex(request: Raft_ReadIndexRequest, context: ServerContext) async throws -> Raft_ReadIndexResponse {
        let replies = try await transport.exchange(request.messages, call: .readIndex)
        return .with { $0.messages = replies }
    }
}
