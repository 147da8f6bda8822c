import NIOCore
import NIOPosix
import Raft
import RaftNode
import Synchronization

/// A TCP relay for one directed link of a cluster (server A dialling server B) that a
/// test can cut and restore: a partition as the servers would meet one, silence rather
/// than a refused or reset connection. While the link is cut nothing is read on either
/// side of its connections, so data waits in the kernel's buffers as on a link that
/// loses packets until it heals; new connections are accepted but not served.
public final class LinkProxy: Sendable {
    public let address: PeerAddress
    private let listener: any Channel
    private let state = Mutex<(cut: Bool, relays: [ObjectIdentifier: any Channel])>((false, [:]))

    /// Listens on a free loopback port and relays each connection to `target`.
    public init(to target: PeerAddress, group: MultiThreadedEventLoopGroup = .singleton) async throws {
        // The child initializer needs the proxy, which exists only once the listener does.
        let owner = Mutex<LinkProxy?>(nil)
        listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { inbound in
                owner.withLock { $0 }?.relay(inbound, to: target, group: group)
                return inbound.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        guard let port = listener.localAddress?.port else { throw LinkProxyError.noPort }
        address = PeerAddress(host: "127.0.0.1", port: port)
        owner.withLock { $0 = self }
    }

    /// Stops relaying in both directions, keeping every connection open.
    public func cut() { setReading(false) }

    /// Relays again, starting with whatever waited meanwhile.
    public func restore() { setReading(true) }

    public var isCut: Bool { state.withLock { $0.cut } }

    /// Closes the listener and every relayed connection.
    public func close() async {
        try? await listener.close()
        let relays = state.withLock { state in
            defer { state.relays = [:] }
            return Array(state.relays.values)
        }
        for channel in relays { try? await channel.close() }
    }

    /// Both here and where a relay is registered, the option is queued to the channel
    /// under the lock, so a cut and a new relay's start cannot reach a channel out of order.
    private func setReading(_ reading: Bool) {
        state.withLock { state in
            state.cut = !reading
            for channel in state.relays.values {
                channel.setOption(.autoRead, value: reading).whenComplete { _ in }
            }
        }
    }

    private func relay(_ inbound: any Channel, to target: PeerAddress, group: MultiThreadedEventLoopGroup) {
        ClientBootstrap(group: group)
            .connectTimeout(.seconds(1))
            .channelOption(.autoRead, value: false)
            .channelInitializer { outbound in
                outbound.eventLoop.makeCompletedFuture {
                    try outbound.pipeline.syncOperations.addHandler(Relay(partner: inbound))
                }
            }
            .connect(host: target.host, port: target.port)
            .flatMap { outbound in
                inbound.pipeline.addHandler(Relay(partner: outbound)).map { outbound }
            }
            .whenComplete { result in
                switch result {
                case .success(let outbound):
                    self.state.withLock { state in
                        for channel in [inbound, outbound] {
                            state.relays[ObjectIdentifier(channel)] = channel
                            if !state.cut { channel.setOption(.autoRead, value: true).whenComplete { _ in } }
                        }
                    }
                    // Outside the lock: on a channel already closed the callback runs at once.
                    for channel in [inbound, outbound] {
                        channel.closeFuture.whenComplete { _ in
                            _ = self.state.withLock { $0.relays.removeValue(forKey: ObjectIdentifier(channel)) }
                        }
                    }
                case .failure:
                    inbound.close(promise: nil)
                }
            }
    }
}

enum LinkProxyError: Error {
    case noPort
}

/// Copies what one side of a relayed connection reads to the other, and closes the other
/// when this side closes.
private final class Relay: ChannelInboundHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let partner: any Channel

    init(partner: any Channel) { self.partner = partner }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        partner.writeAndFlush(unwrapInboundIn(data), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Every directed link between the servers of a `LocalRaftCluster` through a `LinkProxy`,
/// so that tests can partition the cluster. Set up before the servers start.
public final class ClusterLinks: Sendable {
    /// `proxies[from][to]`: the link on which server `from` dials server `to`.
    public let proxies: [NodeID: [NodeID: LinkProxy]]

    public init(for cluster: LocalRaftCluster) async throws {
        var proxies: [NodeID: [NodeID: LinkProxy]] = [:]
        for from in cluster.ids {
            for to in cluster.ids where to != from {
                let proxy = try await LinkProxy(to: cluster.addresses[to]!)
                proxies[from, default: [:]][to] = proxy
                cluster.dialAddresses[from]![to] = proxy.address
            }
        }
        self.proxies = proxies
    }

    /// Cuts every link to and from `id`.
    public func isolate(_ id: NodeID) {
        for (from, links) in proxies {
            for (to, proxy) in links where from == id || to == id { proxy.cut() }
        }
    }

    /// Restores every link.
    public func healAll() {
        for links in proxies.values { for proxy in links.values { proxy.restore() } }
    }

    public func close() async {
        for links in proxies.values { for proxy in links.values { await proxy.close() } }
    }
}
