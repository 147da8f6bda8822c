import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Synchronization

/// gRPC clients by address, made on first use and kept until `shutdown()`: a worker
/// following the leader, or a coordinator forwarding writes, dials whichever member is
/// the leader now without tearing a connection down each time it moves.
public final class GRPCClientPool: Sendable {
    private struct Entry {
        let client: GRPCClient<HTTP2ClientTransport.Posix>
        let connections: Task<Void, Never>
    }

    private let entries = Mutex<[PeerAddress: Entry]>([:])
    private let closed = Atomic(false)

    public init() {}

    /// The client for `address`, connecting in the background.
    public func client(for address: PeerAddress) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        guard !closed.load(ordering: .acquiring) else {
            throw RPCError(code: .unavailable, message: "client pool closed")
        }
        return try entries.withLock { entries in
            if let entry = entries[address] { return entry.client }
            let client = try GRPCSettings.client(to: address)
            let connections = Task { _ = try? await client.runConnections() }
            entries[address] = Entry(client: client, connections: connections)
            return client
        }
    }

    /// Closes every connection; calls in flight get `grace` to finish, then the
    /// connections are cancelled (a peer that accepted a connection but never speaks
    /// would otherwise hold the shutdown until its handshake times out).
    public func shutdown(grace: Duration = .seconds(5)) async {
        closed.store(true, ordering: .releasing)
        let all = entries.withLock { entries in
            defer { entries.removeAll() }
            return Array(entries.values)
        }
        for entry in all { entry.client.beginGracefulShutdown() }
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for entry in all { await entry.connections.value }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: grace)
                return false
            }
            if await group.next() == false {
                for entry in all { entry.connections.cancel() }
            }
            group.cancelAll()
            await group.waitForAll()
        }
    }
}
