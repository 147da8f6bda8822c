import Foundation
import Hummingbird
import NIOCore
import ServiceConfig
import Synchronization
import Testing
import Wire

@testable import Gateway

/// The gateway's pieces that need no server.
@Suite("Gateway parts")
struct GatewayUnitTests {
    @Test("OrderedJSON escapes what JSON requires and keeps member order")
    func orderedJSON() throws {
        let value = OrderedJSON.object([
            ("b", .string("quote \" backslash \\ newline \n tab \t bell \u{7} é")), ("a", .integer(-3)),
            ("list", .array([.bool(true), .null, .number(1.5)])), ("raw", .raw("{\"x\":1}")),
        ])
        #expect(value.text.hasPrefix("{\"b\":"))
        let decoded = try #require(try JSONSerialization.jsonObject(with: Data(value.text.utf8)) as? [String: Any])
        #expect(decoded["b"] as? String == "quote \" backslash \\ newline \n tab \t bell \u{7} é")
        #expect(decoded["a"] as? Int == -3)
        #expect((decoded["raw"] as? [String: Any])?["x"] as? Int == 1)
        #expect(value.lineText.contains("\n\"a\":-3,\n"))
        // Strings with nothing to escape (ids, hex, decimals) are copied whole.
        let plain = OrderedJSON.object([("id", .string("e58568b8-b64b")), ("é", .string("naïve ✓"))]).text
        #expect(plain == "{\"id\":\"e58568b8-b64b\",\"é\":\"naïve ✓\"}")
    }

    @Test("task ids: the 36-character UUID form in either case, lower-cased; Foundation agrees")
    func taskIDs() {
        #expect(Gateway.canonicalUUID("E58568B8-B64B-4DAB-B8BC-29C076B90752") == "e58568b8-b64b-4dab-b8bc-29c076b90752")
        #expect(Gateway.canonicalUUID("e58568b8-b64b-4dab-b8bc-29c076b90752") == "e58568b8-b64b-4dab-b8bc-29c076b90752")
        for text in [
            "", "not-a-uuid", "e58568b8b64b4dabb8bc29c076b90752", "e58568b8-b64b-4dab-b8bc-29c076b9075",
            "e58568b8-b64b-4dab-b8bc-29c076b907522", "e58568b8_b64b-4dab-b8bc-29c076b90752",
            "g58568b8-b64b-4dab-b8bc-29c076b90752", "e58568b8-b64b-4dab-b8bc-29c076b9075é",
            "{e58568b8-b64b-4dab-b8bc-29c076b90752}", "e58568b-8b64b-4dab-b8bc-29c076b90752",
        ] {
            #expect(Gateway.canonicalUUID(text) == nil, "\(text)")
            #expect(UUID(uuidString: text) == nil, "\(text)")
        }
        for _ in 0..<100 {
            let uuid = UUID()
            #expect(Gateway.canonicalUUID(uuid.uuidString) == uuid.uuidString.lowercased())
        }
    }

    @Test("deadlines: a body that ends in time answers; one that does not is cancelled and awaited")
    func deadlineWatch() async throws {
        let watch = DeadlineWatch(tick: .milliseconds(5))
        let quick = try await watch.run(until: .now + .seconds(60)) { 42 }
        #expect(quick == 42)
        let ended = Mutex(false)
        await #expect(throws: CancellationError.self) {
            try await watch.run(until: .now + .milliseconds(20)) {
                defer { ended.withLock { $0 = true } }
                try await Task.sleep(for: .seconds(3600))
            }
        }
        // run returns only after the body has ended, and forgets the request.
        #expect(ended.withLock { $0 })
        #expect(watch.waitingCount == 0)
    }

    @Test("the finished-job cache keeps ended jobs only, up to its capacity, oldest out first")
    func finishedJobCache() {
        func job(_ id: String, _ status: String) -> Zkp_Job {
            var job = Zkp_Job()
            job.id = id
            job.status = status
            return job
        }
        let cache = FinishedJobCache(capacity: 3) { "rendered \($0.id)" }
        for status in ["pending", "assigned", "in_progress"] { cache.keep(job("live-\(status)", status)) }
        #expect(cache.count == 0)
        for (index, status) in ["completed", "failed", "cancelled"].enumerated() {
            cache.keep(job("j\(index)", status))
        }
        #expect(cache.count == 3)
        cache.keep(job("j1", "failed"))
        #expect(cache.count == 3)
        cache.keep(job("j3", "completed"))
        #expect(cache.count == 3)
        #expect(cache.job("j0") == nil)
        #expect(cache.job("j1")?.status == "failed")
        #expect(cache.job("j3")?.status == "completed")
        #expect(cache.entry("j3")?.renderedTask == "rendered j3")
        cache.keep(job("j4", "completed"))
        #expect(cache.job("j1") == nil && cache.job("j2") != nil && cache.job("j4") != nil)

        let none = FinishedJobCache(capacity: 0) { _ in "" }
        none.keep(job("j0", "completed"))
        #expect(none.job("j0") == nil)
    }

    @Test("token buckets: a burst, then one request per 1/rate seconds, per client")
    func rateLimiter() {
        let limiter = RateLimiter(requestsPerSecond: 10, burst: 3)
        let start = ContinuousClock.now
        #expect((0..<4).map { _ in limiter.admit("a", now: start) } == [true, true, true, false])
        #expect(limiter.admit("b", now: start))
        #expect(!limiter.admit("a", now: start + .milliseconds(50)))
        #expect(limiter.admit("a", now: start + .milliseconds(110)))
        #expect(!limiter.admit("a", now: start + .milliseconds(120)))
        // Long idle refills to the burst, not beyond.
        let later = start + .seconds(120)
        #expect((0..<4).map { _ in limiter.admit("a", now: later) } == [true, true, true, false])
    }

    @Test("request ids: 1–128 safe characters are kept, anything else is replaced")
    func requestIDs() {
        #expect(GatewayMiddleware.requestID(from: "req-1_2.3:4") == "req-1_2.3:4")
        for bad in ["", "a b", "x\ny", String(repeating: "a", count: 129), "é"] {
            #expect(UUID(uuidString: GatewayMiddleware.requestID(from: bad)) != nil)
        }
        #expect(UUID(uuidString: GatewayMiddleware.requestID(from: nil)) != nil)
    }

    @Test("the client is the peer unless the peer is a trusted proxy; logs keep only the network")
    func clientAddresses() throws {
        let config = try GatewayConfig.load(
            ConfigDocument(
                yaml: "server:\n  host: 127.0.0.1\nrate_limit:\n  trusted_proxies: [\"10.0.0.1\", \"10.0.0.2\"]",
                source: "t", environmentPrefix: "API_GATEWAY", environment: [:]))
        let middleware = GatewayMiddleware(
            config: config, routes: RouteTable([]), limiter: RateLimiter(requestsPerSecond: 1, burst: 1),
            metrics: GatewayMetrics(), logger: .init(label: "t"))
        let proxy = try SocketAddress(ipAddress: "10.0.0.1", port: 5000)
        let direct = try SocketAddress(ipAddress: "203.0.113.9", port: 5000)
        #expect(middleware.clientAddress(of: direct, forwardedFor: "1.2.3.4") == "203.0.113.9")
        #expect(middleware.clientAddress(of: proxy, forwardedFor: "1.2.3.4") == "1.2.3.4")
        #expect(middleware.clientAddress(of: proxy, forwardedFor: "6.6.6.6, 1.2.3.4, 10.0.0.2") == "1.2.3.4")
        #expect(middleware.clientAddress(of: proxy, forwardedFor: nil) == "10.0.0.1")
        #expect(GatewayMiddleware.anonymised("203.0.113.9") == "203.0.113.0")
        #expect(GatewayMiddleware.anonymised("2001:db8:1:2:3:4:5:6") == "2001:db8:1::")
    }

    @Test("routes: literal segments win over parameters; methods per path for 405")
    func routeTable() {
        let noop: @Sendable (Request, GatewayContext) async throws -> Response = { _, _ in Response(status: .ok) }
        let table = RouteTable([
            Route(method: .post, path: "/api/v1/tasks/merkle", handler: noop),
            Route(method: .get, path: "/api/v1/tasks/{id}", handler: noop),
            Route(method: .delete, path: "/api/v1/tasks/{id}", handler: noop),
        ])
        #expect(table.template(matching: "/api/v1/tasks/merkle") == "/api/v1/tasks/merkle")
        #expect(table.template(matching: "/api/v1/tasks/abc") == "/api/v1/tasks/{id}")
        #expect(table.methods(matching: "/api/v1/tasks/abc") == [.get, .delete])
        #expect(table.methods(matching: "/api/v1/tasks/abc/more").isEmpty)
    }

    @Test("Merkle task requests: the original limits and messages, canonical leaves, the depth from the count")
    func merkleTasks() throws {
        func check(_ leaves: [String], _ index: Int?) -> Result<Gateway.MerkleTask, APIError> {
            Result { () throws(APIError) in try Gateway.checkMerkleTask(.init(leaves: leaves, leafIndex: index)) }
        }
        #expect(try check(["0x01"], nil).get().depth == 0)
        #expect(try check(["01", "02", "03"], 2).get().depth == 2)
        #expect(try check(Array(repeating: "0x01", count: 1000), 999).get().depth == 10)
        #expect(
            try check(["0x01", "0x02"], 0).get().idempotencyKey == check(["0x0001", "02"], 0).get().idempotencyKey)
        #expect(
            try check(["0x01", "0x02"], 0).get().idempotencyKey != check(["0x01", "0x02"], 1).get().idempotencyKey)
        #expect(try check(["0x01", "0x02"], 0).get().inputsJSON.hasPrefix("{\"leaves\":[\"0x000000"))
        if case .failure(let error) = check([], nil) { #expect(error.message.contains("leaves array cannot be empty")) }
        if case .failure(let error) = check(["0x01"], 1) {
            #expect(error.message.contains("must be between 0 and 0 (got 1)"))
        }
    }
}
