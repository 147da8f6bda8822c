import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import LocalCluster
import Raft
import TestSupport
import Testing
import Wire

@testable import RaftNode

/// Servers of one cluster in this process, talking real gRPC on loopback.
struct GRPCTestCluster {
    let root = temporaryDirectory()
    let addresses: [NodeID: PeerAddress]
    var tls: [NodeID: RaftTLS] = [:]
    var snapshotEvery: LogIndex = 10_000
    private(set) var tasks: [NodeID: Task<Void, any Error>] = [:]
    private(set) var servers: [NodeID: RaftServer] = [:]

    init(size: Int = 3) throws {
        let ports = try freeLoopbackPorts(size)
        addresses = Dictionary(
            uniqueKeysWithValues: ports.enumerated().map { (NodeID($0 + 1), PeerAddress(host: "127.0.0.1", port: $1)) })
    }

    var ids: [NodeID] { addresses.keys.sorted() }

    mutating func start(_ id: NodeID) throws {
        let machine = KeyValueStateMachine()
        let configuration = RaftServerConfiguration(
            id: id, listen: addresses[id]!, peers: addresses, dataDirectory: "\(root)/server\(id)", bootstrap: id == 1,
            heartbeatInterval: .milliseconds(50), electionTimeout: .milliseconds(500), tls: tls[id],
            snapshotEvery: snapshotEvery, requestTimeout: .seconds(10))
        let server = try RaftServer(configuration: configuration, stateMachine: machine)
        servers[id] = server
        tasks[id] = Task { try await server.run(services: [KeyValueService(server: server, machine: machine)]) }
    }

    func client() throws -> KeyValueClusterClient {
        try KeyValueClusterClient(addresses: ids.map { addresses[$0]! }, callTimeout: .seconds(5), attempts: 400)
    }

    func stopAll() async {
        for task in tasks.values { task.cancel() }
        for task in tasks.values { _ = await task.result }
        try? FileManager.default.removeItem(atPath: root)
    }
}

/// A raw `raft.RaftTransport` client, for sending what no correct server would.
func withRaftStub<Value: Sendable>(
    _ address: PeerAddress, security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext,
    _ body: @Sendable (Raft_RaftTransport.Client<HTTP2ClientTransport.Posix>) async throws -> Value
) async throws -> Value {
    try await withGRPCClient(
        transport: .http2NIOPosix(target: .ipv4(address: address.host, port: address.port), transportSecurity: security)
    ) { client in
        try await body(Raft_RaftTransport.Client(wrapping: client))
    }
}

@Suite("Raft over gRPC", .serialized)
struct GRPCClusterTests {
    @Test("three servers elect, replicate, redirect writes to the leader and read linearizably on every server")
    func replicate() async throws {
        var cluster = try GRPCTestCluster()
        for id in cluster.ids { try cluster.start(id) }
        let client = try cluster.client()
        try await client.withConnections { client in
            for index in 0..<30 {
                try await client.put("key\(index)", "value\(index)", through: index % 3)
            }
            for server in 0..<3 {
                #expect(try await client.get("key29", through: server) == "value29")
                #expect(try await client.get("absent", through: server) == nil)
            }
            let statuses = try await (0..<3).asyncMap { try await client.status(of: $0) }
            #expect(statuses.filter { $0.role == "leader" }.count == 1)
            #expect(Set(statuses.map(\.leaderID)).count == 1)
        }
        await cluster.stopAll()
    }

    @Test("a server that starts after the log was compacted catches up through InstallSnapshot")
    func snapshotOverGRPC() async throws {
        var cluster = try GRPCTestCluster()
        cluster.snapshotEvery = 20
        try cluster.start(1)
        try cluster.start(2)
        let client = try cluster.client()
        try await client.withConnections { client in
            for index in 0..<120 { try await client.put("k\(index)", "v\(index)", through: 0) }
        }
        try cluster.start(3)
        let third = try #require(cluster.servers[3])
        let machineCaughtUp = await waitUntil(seconds: 60) { await third.node.status.appliedIndex >= 120 }
        #expect(machineCaughtUp)
        let lateClient = try cluster.client()
        let (first, last) = try await lateClient.withConnections { client in
            (try await client.get("k0", through: 2), try await client.get("k119", through: 2))
        }
        #expect(first == "v0")
        #expect(last == "v119")
        await cluster.stopAll()
    }

    @Test(
        "key-value sessions carry concurrent puts and gets matched by id, refuse malformed calls by name, and status names the leader and when each peer was heard from"
    )
    func sessions() async throws {
        var cluster = try GRPCTestCluster()
        for id in cluster.ids { try cluster.start(id) }
        let client = try cluster.client()
        let (addresses, ids) = (cluster.addresses, cluster.ids)
        try await client.withConnections { client in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for writer in 0..<64 {
                    group.addTask { for round in 0..<5 { try await client.put("w\(writer)", "\(writer)-\(round)") } }
                }
                try await group.waitForAll()
            }
            let values = try await withThrowingTaskGroup(of: (Int, String?).self) { group in
                for writer in 0..<64 {
                    group.addTask { (writer, try await client.get("w\(writer)", through: writer % 3)) }
                }
                return try await group.reduce(into: [Int: String?]()) { $0[$1.0] = $1.1 }
            }
            for writer in 0..<64 { #expect(values[writer] == "\(writer)-4") }
            await #expect {
                try await client.put("", "x")
            } throws: { error in
                "\(error)".contains("the key is empty")
            }
            let statuses = try await (0..<3).asyncMap { try await client.status(of: $0) }
            let leader = try #require(statuses.first { $0.role == "leader" })
            for status in statuses {
                #expect(status.leaderAddress == addresses[leader.id]!.description)
                #expect(status.peers.map(\.id) == ids.filter { $0 != status.id })
                #expect(status.peers.map(\.address) == status.peers.map { addresses[$0.id]!.description })
            }
            // The leader hears from both followers at every heartbeat (50 ms here).
            #expect(leader.peers.allSatisfy { (0..<30_000).contains($0.millisecondsSinceContact) })
        }

        let results = try await withGRPCClient(
            transport: .http2NIOPosix(
                target: .ipv4(address: "127.0.0.1", port: cluster.addresses[1]!.port), transportSecurity: .plaintext)
        ) { grpc in
            try await Raft_KeyValue.Client(wrapping: grpc).session(
                requestProducer: { writer in
                    var empty = Raft_SessionCall()
                    empty.id = 7
                    var withNUL = Raft_SessionCall()
                    withNUL.id = 8
                    withNUL.put = .with {
                        $0.key = "k"
                        $0.value = "a\u{0}b"
                    }
                    try await writer.write(.with { $0.calls = [empty, withNUL] })
                },
                onResponse: { response in
                    var results: [UInt64: String] = [:]
                    for try await message in response.messages {
                        for result in message.results { results[result.id] = result.invalidArgument }
                    }
                    return results
                })
        }
        #expect(results == [7: "the call has neither a put nor a get", 8: "the value contains NUL"])
        await cluster.stopAll()
    }

    @Test("malformed Raft messages are refused with an error that names the problem, and change nothing")
    func malformed() async throws {
        var cluster = try GRPCTestCluster()
        for id in cluster.ids { try cluster.start(id) }
        let client = try cluster.client()
        _ = try await client.withConnections { client in try await client.put("before", "1") }
        let leader = try #require(cluster.servers[1])
        let statusBefore = await leader.node.status

        func refusal(_ messages: [Raft_RaftMessage]) async throws -> String {
            do {
                _ = try await withRaftStub(cluster.addresses[1]!) { stub in
                    try await stub.requestVote(.with { $0.messages = messages })
                }
                return "accepted"
            } catch let error as RPCError {
                #expect(error.code == .invalidArgument)
                return error.message
            }
        }
        var wrongReceiver = Raft_RaftMessage()
        wrongReceiver.kind = .vote
        wrongReceiver.from = 2
        wrongReceiver.to = 3
        wrongReceiver.term = 99
        #expect(try await refusal([wrongReceiver]).contains("for server 3 reached server 1"))
        var unknownKind = wrongReceiver
        unknownKind.to = 1
        unknownKind.kind = .UNRECOGNIZED(42)
        #expect(try await refusal([unknownKind]).contains("unknown message kind 42"))
        var append = wrongReceiver
        append.to = 1
        append.kind = .append
        #expect(try await refusal([append]).contains("RequestVote does not carry append"))
        var anonymous = append
        anonymous.kind = .vote
        anonymous.from = 0
        #expect(try await refusal([anonymous]).contains("without a sender"))

        let statusAfter = await leader.node.status
        #expect(statusAfter.term == statusBefore.term)
        #expect(statusAfter.role == .leader)
        await cluster.stopAll()
    }

    @Test("a server with no state, no bootstrap and no peers refuses to start: no known peers")
    func noKnownPeers() throws {
        let root = temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let configuration = RaftServerConfiguration(
            id: 4, listen: PeerAddress(host: "127.0.0.1", port: 1), peers: [:], dataDirectory: root, bootstrap: false)
        #expect(throws: RaftNodeConfigurationError.noKnownPeers) {
            _ = try RaftServer(configuration: configuration, stateMachine: KeyValueStateMachine())
        }
        #expect(throws: RaftNodeConfigurationError.self) {
            try PeerAddress(parsing: "127.0.0.1")
        }
        #expect(throws: RaftNodeConfigurationError.self) {
            try PeerAddress(parsing: "127.0.0.1:70000")
        }
        var tooShort = configuration
        tooShort.peers = [1: PeerAddress(host: "127.0.0.1", port: 2)]
        tooShort.electionTimeout = .milliseconds(150)
        #expect(throws: RaftNodeConfigurationError.self) {
            _ = try RaftServer(configuration: tooShort, stateMachine: KeyValueStateMachine())
        }
    }

    @Test("with mutual TLS the cluster works, and peers without a certificate from its CA are refused")
    func mutualTLS() async throws {
        let certificates = try TestCertificates()
        defer { certificates.remove() }
        var cluster = try GRPCTestCluster()
        for id in cluster.ids {
            cluster.tls[id] = RaftTLS(
                certificateFile: certificates.path("server\(id).pem"), keyFile: certificates.path("server\(id).key"),
                caFile: certificates.path("ca.pem"))
        }
        for id in cluster.ids { try cluster.start(id) }
        let leader = try #require(cluster.servers[1])
        let elected = await waitUntil(seconds: 60) {
            let status = await leader.node.status
            return status.commitIndex >= 2 && status.role == .leader
        }
        #expect(elected)
        let replicated = await waitUntil(seconds: 60) {
            await cluster.servers[3]!.node.status.appliedIndex >= 2
        }
        #expect(replicated)

        var vote = Raft_RaftMessage()
        vote.kind = .preVote
        vote.from = 2
        vote.to = 1
        vote.term = 1
        let request = vote
        let firstServer = cluster.addresses[1]!
        let preVote = { @Sendable (security: HTTP2ClientTransport.Posix.TransportSecurity) in
            try await withRaftStub(firstServer, security: security) { stub in
                try await stub.requestVote(.with { $0.messages = [request] })
            }
        }
        // No client certificate at all.
        await #expect(throws: (any Error).self) { _ = try await preVote(certificates.clientSecurity(presenting: nil)) }
        // A certificate from another CA.
        await #expect(throws: (any Error).self) {
            _ = try await preVote(certificates.clientSecurity(presenting: "rogue"))
        }
        // A certificate from the cluster's CA is accepted (the pre-vote is answered).
        let answer = try await preVote(certificates.clientSecurity(presenting: "server2"))
        #expect(answer.messages.first?.kind == .preVoteResponse)
        await cluster.stopAll()
    }
}

/// A CA with a certificate per server (for 127.0.0.1), and a rogue CA's certificate,
/// made with the openssl command line.
struct TestCertificates {
    let directory = temporaryDirectory()

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=zkp test CA",
        ])
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "rogue-ca.key", "-out", "rogue-ca.pem", "-days", "2", "-subj", "/CN=rogue CA",
        ])
        _ = FileManager.default.createFile(
            atPath: path("san.ext"), contents: Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8))
        for (name, ca) in [("server1", "ca"), ("server2", "ca"), ("server3", "ca"), ("rogue", "rogue-ca")] {
            try openssl([
                "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(name)",
            ])
            try openssl([
                "x509", "-req", "-in", "\(name).csr", "-CA", "\(ca).pem", "-CAkey", "\(ca).key",
                "-CAcreateserial", "-out", "\(name).pem", "-days", "2", "-extfile", "san.ext",
            ])
        }
    }

    func path(_ name: String) -> String { "\(directory)/\(name)" }

    /// A client that trusts the cluster's CA and presents `name`'s certificate (none if nil).
    func clientSecurity(presenting name: String?) -> HTTP2ClientTransport.Posix.TransportSecurity {
        let trustClusterCA = { (config: inout HTTP2ClientTransport.Posix.TransportSecurity.TLS) in
            config.trustRoots = .certificates([.file(path: path("ca.pem"), format: .pem)])
        }
        guard let name else { return .tls(configure: trustClusterCA) }
        return .mTLS(
            certificateChain: [.file(path: path("\(name).pem"), format: .pem)],
            privateKey: .file(path: path("\(name).key"), format: .pem), configure: trustClusterCA)
    }
    func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func openssl(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "openssl \(arguments.joined(separator: " ")) failed")
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
