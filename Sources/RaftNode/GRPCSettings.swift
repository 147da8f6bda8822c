import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// The gRPC limits and keepalive timings every server and client of the cluster uses, in
/// one place so the two ends agree: a client pings an idle connection every 10 s, and a
/// server accepts pings as often as every 5 s, with or without calls in flight. (When
/// they disagree, the server counts the pings as abuse and closes busy connections.)
public enum GRPCSettings {
    /// The largest message either side accepts: artifact chunks and proofs are far
    /// smaller; a job's inputs are bounded well below it.
    public static let maximumMessageBytes = 16 << 20
    public static let clientPingInterval: Duration = .seconds(10)
    public static let pingTimeout: Duration = .seconds(5)
    public static let serverMinimumPingInterval: Duration = .seconds(5)

    public static func serverConfig() -> HTTP2ServerTransport.Posix.Config {
        .defaults { config in
            config.rpc.maxRequestPayloadSize = maximumMessageBytes
            config.connection.keepalive = .init(
                time: .seconds(30), timeout: pingTimeout,
                clientBehavior: .init(minPingIntervalWithoutCalls: serverMinimumPingInterval, allowWithoutCalls: true))
        }
    }

    public static func clientConfig() -> HTTP2ClientTransport.Posix.Config {
        .defaults { config in
            // Reconnect to a restarted peer within tens of milliseconds, never slower than 1 s.
            config.backoff = .init(initial: .milliseconds(20), max: .seconds(1), multiplier: 1.6, jitter: 0.2)
            config.connection.keepalive = .init(time: clientPingInterval, timeout: pingTimeout, allowWithoutCalls: true)
        }
    }

    /// Call options with a deadline and the message limit, for every call a client makes
    /// (only a long-lived stream, such as a worker's task stream, goes without a deadline).
    public static func callOptions(timeout: Duration?) -> CallOptions {
        var options = CallOptions.defaults
        options.timeout = timeout
        options.maxRequestMessageBytes = maximumMessageBytes
        options.maxResponseMessageBytes = maximumMessageBytes
        return options
    }

    /// A client for `address`, plaintext.
    public static func client(to address: PeerAddress) throws -> GRPCClient<HTTP2ClientTransport.Posix> {
        GRPCClient(
            transport: try HTTP2ClientTransport.Posix(
                target: address.isIPv4Literal
                    ? .ipv4(address: address.host, port: address.port)
                    : .dns(host: address.host, port: address.port),
                transportSecurity: .plaintext, config: clientConfig()))
    }

    /// A plaintext server listening on `address`.
    public static func serverTransport(listeningOn address: PeerAddress) -> HTTP2ServerTransport.Posix {
        HTTP2ServerTransport.Posix(
            address: !address.host.contains(":")
                ? .ipv4(host: address.host, port: address.port) : .ipv6(host: address.host, port: address.port),
            transportSecurity: .plaintext, config: serverConfig())
    }
}
