import Foundation
import Raft
import RaftNode
import Synchronization
import Wire

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A cluster of `zkp raft-node` processes on 127.0.0.1, each with its own data folder
/// under `root`, for the process-level Raft tests and `raft-bench`. Servers can be
/// killed, stopped, resumed and restarted; their output goes to `root/serverN.log`.
public final class LocalRaftCluster: @unchecked Sendable {
    public let executable: String
    public let ids: [NodeID]
    public let root: String
    public let heartbeatMilliseconds: Int
    public let electionMilliseconds: Int
    /// Where each server listens.
    public let addresses: [NodeID: PeerAddress]
    /// Where each server dials each peer: its real address unless a test routes the link
    /// through a proxy (`dialAddresses[from][to]`).
    public var dialAddresses: [NodeID: [NodeID: PeerAddress]]
    /// Extra environment per server (failpoints).
    public var environment: [NodeID: [String: String]] = [:]
    public let client: KeyValueClusterClient
    private let processes = Mutex<[NodeID: Process]>([:])
    private let bootstrapped = Mutex(false)

    public init(
        executable: String, size: Int = 3, root: String, heartbeatMilliseconds: Int = 100,
        electionMilliseconds: Int = 1000, clientCallTimeout: Duration = .seconds(2), clientAttempts: Int = 40,
        clientMaximumBackoff: Duration = .milliseconds(200)
    ) throws {
        self.executable = executable
        self.root = root
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.electionMilliseconds = electionMilliseconds
        ids = (1...size).map { NodeID($0) }
        let ports = try freeLoopbackPorts(size)
        addresses = Dictionary(
            uniqueKeysWithValues: zip(ids, ports).map { ($0, PeerAddress(host: "127.0.0.1", port: $1)) })
        let all = addresses
        dialAddresses = Dictionary(uniqueKeysWithValues: ids.map { ($0, all) })
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        client = try KeyValueClusterClient(
            addresses: ids.map { all[$0]! }, callTimeout: clientCallTimeout, attempts: clientAttempts,
            maximumBackoff: clientMaximumBackoff)
    }

    /// Starts server `id` (bootstrapping the cluster on the first start of the first server).
    public func start(_ id: NodeID) throws {
        let bootstrap = bootstrapped.withLock { done in
            defer { done = true }
            return !done && id == ids[0]
        }
        var arguments = [
            "raft-node", "--id", "\(id)", "--listen", addresses[id]!.description, "--data", "\(root)/server\(id)",
            "--heartbeat-ms", "\(heartbeatMilliseconds)", "--election-ms", "\(electionMilliseconds)",
        ]
        for peer in ids where peer != id { arguments += ["--peer", "\(peer)=\(dialAddresses[id]![peer]!)"] }
        if bootstrap { arguments.append("--bootstrap") }
        // ZKP_RAFT_LOG_LEVEL=debug makes the servers log their transport's view too.
        if let level = ProcessInfo.processInfo.environment["ZKP_RAFT_LOG_LEVEL"] {
            arguments += ["--log-level", level]
        }
        let process = try launch(
            executable, arguments: arguments, extraEnvironment: environment[id] ?? [:],
            logPath: "\(root)/server\(id).log")
        processes.withLock { $0[id] = process }
    }

    public func startAll() throws { for id in ids { try start(id) } }

    public func isRunning(_ id: NodeID) -> Bool { processes.withLock { $0[id]?.isRunning ?? false } }

    /// Sends `signal` to server `id`; SIGKILL also waits for the process to be gone.
    public func signal(_ id: NodeID, _ signal: Int32) {
        guard let process = processes.withLock({ $0[id] }), process.isRunning else { return }
        kill(process.processIdentifier, signal)
        if signal == SIGKILL || signal == SIGTERM {
            process.waitUntilExit()
            processes.withLock { $0[id] = nil }
        }
    }

    public func shutdown() {
        for id in ids {
            signal(id, SIGCONT)
            signal(id, SIGKILL)
        }
        client.stop()
    }

    /// Each server's status (nil: it did not answer).
    public func statuses(excluding excluded: Set<NodeID> = []) async -> [NodeID: Raft_StatusResponse] {
        var result: [NodeID: Raft_StatusResponse] = [:]
        await withTaskGroup(of: (NodeID, Raft_StatusResponse?).self) { group in
            for (index, id) in ids.enumerated() where isRunning(id) && !excluded.contains(id) {
                group.addTask { (id, try? await self.client.status(of: index)) }
            }
            for await (id, status) in group { if let status { result[id] = status } }
        }
        return result
    }

    /// The server that leads (as it says itself, in the highest term seen), if any.
    public func leader(excluding excluded: Set<NodeID> = []) async -> (id: NodeID, term: Term)? {
        let leaders = await statuses(excluding: excluded).values.filter { $0.role == Role.leader.rawValue }
        guard let best = leaders.max(by: { $0.term < $1.term }) else { return nil }
        return (best.id, best.term)
    }

    /// Polls until a leader is known, for at most `timeout`.
    public func waitForLeader(excluding excluded: Set<NodeID> = [], timeout: Duration) async -> (
        id: NodeID, term: Term
    )? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let leader = await leader(excluding: excluded) { return leader }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Polls until every running server has applied everything the leader has committed.
    public func waitInSync(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let statuses = await statuses()
            let running = ids.filter { isRunning($0) }
            if statuses.count == running.count,
                let leader = statuses.values.first(where: { $0.role == Role.leader.rawValue }),
                statuses.values.allSatisfy({ $0.appliedIndex >= leader.commitIndex && $0.leaderID == leader.id })
            {
                return true
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return false
    }
}

/// `count` distinct loopback ports that were free a moment ago.
///
/// They are drawn below the kernel's ephemeral range: a port the kernel handed out for
/// bind(0) and that was then released goes back to the pool from which every outgoing
/// connection on the machine takes its local port, and one such connection made before
/// a server binds the port keeps that server from starting (seen when test suites ran in
/// parallel: the bootstrapping server could not listen and no leader was ever elected).
/// Starts `executable` with its output appended to `logPath`.
public func launch(
    _ executable: String, arguments: [String], extraEnvironment: [String: String] = [:], logPath: String
)
    throws -> Process
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(extraEnvironment) { $1 }
    if !FileManager.default.fileExists(atPath: logPath) {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    }
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    log.seekToEndOfFile()
    process.standardOutput = log
    process.standardError = log
    try process.run()
    return process
}

public func freeLoopbackPorts(_ count: Int) throws -> [Int] {
    let ephemeralStart = ephemeralPortRangeStart()
    let candidates = 10_000..<max(10_001, ephemeralStart)
    var sockets: [Int32] = []
    defer { for socket in sockets { close(socket) } }
    var ports: [Int] = []
    var attempts = 0
    while ports.count < count {
        attempts += 1
        guard attempts <= 10_000 else { throw POSIXError(.EADDRINUSE) }
        let candidate = Int.random(in: candidates)
        if ports.contains(candidate) { continue }
        #if canImport(Glibc)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let descriptor = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(candidate).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 }
        }
        // Held open until every port is chosen, so the ports are distinct and in use meanwhile.
        if bound {
            sockets.append(descriptor)
            ports.append(candidate)
        } else {
            close(descriptor)
        }
    }
    return ports
}

/// The first port of the kernel's ephemeral range (32768 when it cannot be read).
func ephemeralPortRangeStart() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8),
        let first = text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).first,
        let start = Int(first)
    else { return 32_768 }
    return start
}
