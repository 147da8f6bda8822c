import Foundation

/// `server.*`, `gateway.*`, `rate_limit.*`, `cors.*`, `auth.*`, `logging.*`, `metrics.*`
/// and `zkp.*` for `zkp gateway`. Environment overrides use `API_GATEWAY_`.
public struct GatewayConfig: Sendable, Equatable {
    public struct RateLimit: Sendable, Equatable {
        public var enabled: Bool
        public var requestsPerSecond: Double
        public var burst: Int
        /// Client addresses that are never limited.
        public var whitelist: [String]
        /// Peers whose `X-Forwarded-For` names the client; any other peer is the client.
        public var trustedProxies: [String]
    }

    public struct CORS: Sendable, Equatable {
        public var enabled: Bool
        /// `*` allows any origin.
        public var allowedOrigins: [String]
        public var allowedMethods: [String]
        public var allowedHeaders: [String]
        public var maxAge: Duration
    }

    public struct Auth: Sendable, Equatable {
        /// Keys accepted in `Authorization: Bearer <key>` on the `/api/` routes.
        public var apiKeys: [String]
        /// No key is asked for. Allowed without `allow_anonymous` only on a loopback listener.
        public var anonymous: Bool
    }

    public var host: String
    public var port: Int
    /// How long a client may take to send a request body.
    public var readTimeout: Duration
    /// How long the gateway has to answer a request before it answers 504.
    public var writeTimeout: Duration
    /// How long an idle keep-alive connection stays open.
    public var idleTimeout: Duration
    public var bodyLimit: Int
    public var coordinators: [String]
    /// The bound on one call to a coordinator (a long poll adds its own wait).
    public var callTimeout: Duration
    /// An identical `POST /api/v1/tasks/merkle` within this window answers with the first task.
    public var dedupWindow: Duration
    /// How many ended jobs the gateway keeps to answer reads without a coordinator (0: none).
    public var finishedJobCache: Int
    public var rateLimit: RateLimit
    public var cors: CORS
    public var auth: Auth
    public var logging: LoggingConfig
    public var metrics: MetricsConfig

    public static func load(_ document: ConfigDocument) throws(ConfigError) -> GatewayConfig {
        try refuseRetiredSections(document)
        try document.refuse(
            "database",
            because:
                "the gateway keeps no database: it reaches the coordinators named in gateway.coordinator_addresses; remove the section"
        )
        try document.refuse("zkp.compile_cache_size", because: "the gateway compiles no circuits; remove the key")
        let host = document.string("server.host", default: "0.0.0.0")
        let port = try document.integer("server.port", default: 8080, range: 1...65_535)
        let read = try document.duration("server.read_timeout", default: .seconds(30), minimum: .seconds(1))
        let write = try document.duration("server.write_timeout", default: .seconds(30), minimum: .seconds(1))
        let idle = try document.duration("server.idle_timeout", default: .seconds(120), minimum: .seconds(1))
        let bodyLimit = try document.integer(
            "server.max_body_bytes", default: 5 << 20, range: 1024...(1 << 30))

        var coordinators = document.stringList("gateway.coordinator_addresses")
        if coordinators.isEmpty { coordinators = ["localhost:9090"] }
        let callTimeout = try document.duration(
            "gateway.call_timeout", default: .seconds(10), minimum: .milliseconds(100))
        let dedup = try document.duration("gateway.dedup_window", default: .seconds(300))
        let finishedJobCache = try document.integer(
            "gateway.finished_job_cache", default: 10_000, range: 0...10_000_000)

        let rate = RateLimit(
            enabled: try document.bool("rate_limit.enabled", default: true),
            requestsPerSecond: try document.number("rate_limit.requests_per_second", default: 10, range: 0.001...1e9),
            burst: try document.integer("rate_limit.burst", default: 20, range: 1...1_000_000_000),
            whitelist: document.stringList("rate_limit.whitelist"),
            trustedProxies: document.stringList("rate_limit.trusted_proxies"))

        let cors = CORS(
            enabled: try document.bool("cors.enabled", default: true),
            allowedOrigins: document.stringList("cors.allowed_origins", default: ["http://localhost:3000"]),
            allowedMethods: document.stringList(
                "cors.allowed_methods", default: ["GET", "POST", "PUT", "DELETE", "OPTIONS"]
            ).map { $0.uppercased() },
            allowedHeaders: document.stringList(
                "cors.allowed_headers", default: ["Content-Type", "Authorization", "X-Request-ID"]),
            maxAge: try document.duration("cors.max_age", default: .seconds(600)))

        let keys = document.stringList("auth.api_keys")
        if let short = keys.first(where: { $0.count < 16 }) {
            throw ConfigError(
                "auth.api_keys: a key of \(short.count) characters is too short to guess hard; use 16 or more")
        }
        let allowAnonymous = try document.bool("auth.allow_anonymous", default: false)
        if keys.isEmpty && !allowAnonymous && !isLoopback(host) {
            throw ConfigError(
                "auth.api_keys is empty while server.host \(host) is reachable from other machines: set keys, listen on 127.0.0.1, or set auth.allow_anonymous: true"
            )
        }

        let config = GatewayConfig(
            host: host, port: port, readTimeout: read, writeTimeout: write, idleTimeout: idle, bodyLimit: bodyLimit,
            coordinators: coordinators, callTimeout: callTimeout, dedupWindow: dedup,
            finishedJobCache: finishedJobCache, rateLimit: rate, cors: cors,
            auth: Auth(apiKeys: keys, anonymous: keys.isEmpty), logging: try LoggingConfig.read(document),
            metrics: try MetricsConfig.read(document, defaultPort: nil, enabledByDefault: true))
        try document.checkEveryKeyRead()
        return config
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

extension ConfigDocument {
    /// A list of plain values: a YAML sequence, or (also from the environment) one
    /// comma-separated string.
    public func stringList(_ key: String, default fallback: [String] = []) -> [String] {
        let items = list(key).compactMap { $0[""] }
        if let text = optionalString(key) {
            return text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        return items.isEmpty && !has(key) ? fallback : items
    }

    public func number(_ key: String, default fallback: Double, range: ClosedRange<Double>) throws(ConfigError)
        -> Double
    {
        guard let text = text(key) else { return fallback }
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite else {
            throw ConfigError("\(key): \"\(text)\" is not a number")
        }
        guard range.contains(value) else {
            throw ConfigError("\(key): \(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }
}
