import Hummingbird
import NIOCore

/// The per-request state the gateway's middleware fills in for the handlers.
public struct GatewayContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The peer of the TCP connection (nil when the request did not come from a socket).
    public let remoteAddress: SocketAddress?
    /// The request's id: the client's `X-Request-ID` when it is acceptable, else a new one.
    public var requestID: String = ""
    /// The client's address: the peer, or the first untrusted hop of `X-Forwarded-For`
    /// when the peer is a trusted proxy.
    public var client: String = ""
    /// When the gateway must have answered; long polls wait no longer than this.
    public var deadline: ContinuousClock.Instant = .now
    /// The request body, collected within the size and time limits.
    public var body = ByteBuffer()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }

    /// The body is collected (and limited) by the gateway's middleware before handlers run.
    public var maxUploadSize: Int { .max }
}
