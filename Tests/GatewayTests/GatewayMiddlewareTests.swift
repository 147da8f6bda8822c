import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LocalCluster
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The middleware in front of every route, 404 and 405 included.
@Suite("Gateway middleware", .serialized)
struct GatewayMiddlewareTests {
    @Test("request ids: a valid one is kept, a bad one replaced; 404 and 405 carry the envelope, the id and CORS")
    func requestIDsAndUnmatchedRoutes() async throws {
        let yaml = "cors:\n  allowed_origins: [\"https://app.example\"]"
        try await TestGateway(yaml: yaml).test { client in
            let kept = try await client.call(.get, "/ready", headers: [.init("X-Request-ID")!: "abc-123.X:9"])
            #expect(kept.headers[.init("X-Request-ID")!] == "abc-123.X:9")
            let replaced = try await client.call(
                .get, "/ready", headers: [.init("X-Request-ID")!: String(repeating: "a", count: 129)])
            #expect(UUID(uuidString: replaced.headers[.init("X-Request-ID")!] ?? "") != nil)
            let spaced = try await client.call(.get, "/ready", headers: [.init("X-Request-ID")!: "a b"])
            #expect(spaced.headers[.init("X-Request-ID")!] != "a b")

            let notFound = try await client.call(
                .get, "/api/v2/nothing", headers: [.origin: "https://app.example"])
            #expect(notFound.status == .notFound)
            #expect(notFound.code == "not_found")
            #expect(notFound.error == "no route for GET /api/v2/nothing")
            #expect(notFound.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(notFound.headers[.init("X-Request-ID")!] == notFound["request_id"] as? String)

            let wrongMethod = try await client.call(.put, "/api/v1/jobs")
            #expect(wrongMethod.status == .methodNotAllowed)
            #expect(wrongMethod.headers[.allow] == "POST, GET, OPTIONS")
            #expect(wrongMethod.code == "method_not_allowed")

            let otherOrigin = try await client.call(.get, "/ready", headers: [.origin: "https://evil.example"])
            #expect(otherOrigin.headers[.accessControlAllowOrigin] == nil)
        }
    }

    @Test("CORS preflight answers 204 with the configured methods and headers, without an API key")
    func preflight() async throws {
        let yaml = """
            cors:
              allowed_origins: ["https://app.example"]
              allowed_methods: [GET, POST]
              allowed_headers: [Content-Type, Authorization]
            auth:
              api_keys: ["a-key-of-sixteen-chars"]
            """
        try await TestGateway(yaml: yaml).test { client in
            let answer = try await client.call(
                .options, "/api/v1/jobs",
                headers: [.origin: "https://app.example", .accessControlRequestMethod: "POST"])
            #expect(answer.status == .noContent)
            #expect(answer.headers[.accessControlAllowOrigin] == "https://app.example")
            #expect(answer.headers[.accessControlAllowMethods] == "GET, POST")
            #expect(answer.headers[.accessControlAllowHeaders] == "Content-Type, Authorization")
        }
    }

    @Test("the rate limit: the burst passes, then 429 with Retry-After: 1; a whitelisted client is not limited")
    func rateLimit() async throws {
        let yaml = "rate_limit:\n  requests_per_second: 0.01\n  burst: 3"
        try await TestGateway(yaml: yaml).test { client in
            var statuses: [HTTPResponse.Status] = []
            for _ in 0..<5 { statuses.append(try await client.call(.get, "/ready").status) }
            #expect(statuses == [.ok, .ok, .ok, .tooManyRequests, .tooManyRequests])
            let limited = try await client.call(.get, "/nothing-here")
            #expect(limited.status == .tooManyRequests)
            #expect(limited.headers[.retryAfter] == "1")
            #expect(limited.error == "Rate limit exceeded. Please try again later.")
        }
        let whitelisted = yaml + "\n  whitelist: [\"127.0.0.1\", \"::1\"]"
        try await TestGateway(yaml: whitelisted).test { client in
            for _ in 0..<6 {
                let status = try await client.call(.get, "/ready").status
                #expect(status == .ok)
            }
        }
    }

    @Test("a coordinator that never answers: 504 at server.write_timeout, once")
    func requestTimeout() async throws {
        // A socket that accepts connections (the kernel completes them) but never speaks.
        let port = try freeLoopbackPorts(1)[0]
        let silent = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(silent) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(silent, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        #expect(bound == 0)
        #expect(listen(silent, 16) == 0)
        let yaml = "server:\n  write_timeout: 1s\ngateway:\n  call_timeout: 20s"
        try await TestGateway(yaml: yaml, coordinatorPort: port, attempts: 1).test { client in
            let started = ContinuousClock.now
            let answer = try await client.call(.get, "/api/v1/circuits")
            #expect(answer.status == .gatewayTimeout)
            #expect(answer.code == "timeout")
            #expect(answer.error == "Request timeout")
            #expect(ContinuousClock.now - started < .seconds(15))
        }
    }

    @Test("no coordinator at all: 503 with Retry-After, and /health and /ready say so")
    func coordinatorsDown() async throws {
        let port = try freeLoopbackPorts(1)[0]
        try await TestGateway(coordinatorPort: port, attempts: 2).test { client in
            let answer = try await client.call(.get, "/api/v1/circuits")
            #expect(answer.status == .serviceUnavailable)
            #expect(answer.code == "unavailable")
            #expect(answer.headers[.retryAfter] == "1")
            let health = try await client.call(.get, "/health")
            #expect(health.status == .serviceUnavailable)
            #expect(health["status"] as? String == "unhealthy")
            #expect(health["service"] as? String == "api-gateway")
            let ready = try await client.call(.get, "/ready")
            #expect(ready.status == .serviceUnavailable)
        }
    }

    @Test("service routes keep the original bodies; /health checks the cluster; /metrics counts requests")
    func serviceRoutes() async throws {
        try await TestGateway().test { client in
            let root = try await client.call(.get, "/")
            #expect(root.text == "{\"service\":\"zkp-network\",\"version\":\"0.1.0\"}\n")
            let ready = try await client.call(.get, "/ready")
            #expect(ready.text == "{\"status\":\"ready\"}\n")
            let health = try await client.call(.get, "/health")
            #expect(health.status == .ok)
            #expect(health.text.hasPrefix("{\"status\":\"healthy\",\"service\":\"api-gateway\","))
            let cluster = try #require(health["cluster"] as? [String: Any])
            #expect(cluster["reachable"] as? Bool == true)
            #expect(cluster["workers"] as? Int == 1)
            let metrics = try await client.call(.get, "/metrics")
            #expect(metrics.status == .ok)
            #expect(
                metrics.text.contains("zkp_gateway_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 1"))
            #expect(metrics.text.contains("zkp_gateway_coordinators_up 1"))
        }
    }

    @Test("/openapi.json documents exactly the routes the router serves, and each documented route is served")
    func openAPIMatchesRouter() async throws {
        let gateway = try await TestGateway()
        let served = Set(gateway.gateway.servedRoutes)
        #expect(served.count == 22)
        try await gateway.test { client in
            let answer = try await client.call(.get, "/openapi.json")
            #expect(answer.status == .ok)
            let paths = try #require(answer["paths"] as? [String: [String: Any]])
            var documented: Set<String> = []
            for (path, operations) in paths {
                for method in operations.keys { documented.insert("\(method.uppercased()) \(path)") }
            }
            #expect(documented == served)
            // Each documented operation is routed: neither 404 "no route" nor 405.
            for entry in documented.sorted() {
                let parts = entry.split(separator: " ", maxSplits: 1)
                let method = HTTPRequest.Method(String(parts[0]))!
                let path = String(parts[1]).replacingOccurrences(of: "{id}", with: "probe")
                let reply = try await client.call(method, path, json: method == .post ? "{}" : nil)
                #expect(reply.status != .methodNotAllowed, "\(entry)")
                #expect(!reply.error.hasPrefix("no route"), "\(entry)")
            }
        }
    }
}
