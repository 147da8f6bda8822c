import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceConfig
import Synchronization

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-ID")!
    static let xCache = HTTPField.Name("X-Cache")!
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// Everything the gateway does around a handler, in one middleware so that its order is
/// plain and so that it also covers 404, 405 and preflight answers (the router runs its
/// middleware for unmatched paths too). Outermost first:
///
/// 1. request id (the client's if it is 1–128 of `A–Z a–z 0–9 - _ . :`, else a new UUID),
///    errors and thrown failures into the JSON envelope, CORS headers, access log, metrics;
/// 2. CORS preflight;
/// 3. the per-client rate limit (429 with `Retry-After: 1`);
/// 4. API keys on `/api/` routes (401);
/// 5. the body limit (413) and the time to send the body (`server.read_timeout`, 408);
/// 6. the time limit on the answer (`server.write_timeout`, 504) is applied around each
///    route's handler (`Gateway.withDeadline`), where the handler can run in a child task.
struct GatewayMiddleware: RouterMiddleware {
    typealias Context = GatewayContext

    let config: GatewayConfig
    let routes: RouteTable
    let limiter: RateLimiter
    let metrics: GatewayMetrics
    let logger: Logger

    func handle(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        context.requestID = Self.requestID(from: request.headers[.requestID])
        context.client = clientAddress(of: context.remoteAddress, forwardedFor: request.headers[.forwardedFor])
        context.deadline = started + config.writeTimeout
        let route = routes.template(matching: request.uri.path)

        var response: Response
        do {
            response = try await guarded(request, context: context, next: next)
        } catch let error as APIError {
            response = errorResponse(error, requestID: context.requestID)
        } catch let error as HTTPError where error.status == .notFound {
            response = errorResponse(notFound(request), requestID: context.requestID)
        } catch let error as HTTPError {
            response = errorResponse(
                APIError(error.status, code: "http_error", error.body ?? error.status.reasonPhrase),
                requestID: context.requestID)
        } catch {
            // Anything a handler failed with that is not a refusal: logged with the request
            // id, answered without internals.
            logger.error(
                "Request failed",
                metadata: ["request_id": "\(context.requestID)", "error": "\(String(describing: error))"])
            response = errorResponse(.internalError, requestID: context.requestID)
        }
        response.headers[.requestID] = context.requestID
        if config.cors.enabled, let origin = allowedOrigin(request.headers[.origin]) {
            response.headers[.accessControlAllowOrigin] = origin
            if origin != "*" { response.headers[.vary] = "Origin" }
        }
        let elapsed = ContinuousClock.now - started
        metrics.record(
            method: request.method.rawValue, route: route ?? "unmatched", status: response.status.code,
            duration: elapsed)
        logger.info(
            "HTTP request",
            metadata: [
                "method": "\(request.method.rawValue)", "path": "\(Self.loggedPath(request.uri.path))",
                "remote_addr": "\(Self.anonymised(context.client))", "status": "\(response.status.code)",
                "duration_ms": "\(String(format: "%.2f", RateLimiter.seconds(elapsed) * 1000))",
                "request_id": "\(context.requestID)",
                "user_agent": "\(String((request.headers[.userAgent] ?? "").prefix(120)))",
            ])
        return response
    }

    /// Steps 2–6.
    private func guarded(
        _ request: Request, context: GatewayContext, next: (Request, GatewayContext) async throws -> Response
    ) async throws -> Response {
        if request.method == .options, config.cors.enabled, request.headers[.accessControlRequestMethod] != nil {
            return preflight(request)
        }
        if config.rateLimit.enabled, !config.rateLimit.whitelist.contains(context.client),
            !limiter.admit(context.client)
        {
            var error = APIError(.tooManyRequests, code: "rate_limited", "Rate limit exceeded. Please try again later.")
            error.headers[.retryAfter] = "1"
            throw error
        }
        if !config.auth.anonymous, request.uri.path.hasPrefix("/api/") {
            try authenticate(request)
        }
        if let length = request.headers[.contentLength].flatMap(Int.init), length > config.bodyLimit {
            throw payloadTooLarge()
        }
        var context = context
        context.body = try await collectBody(request)
        return try await next(request, context)
    }

    private func collectBody(_ request: Request) async throws -> ByteBuffer {
        let limit = config.bodyLimit
        let readTimeout = config.readTimeout
        return try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
            group.addTask {
                do {
                    return try await request.body.collect(upTo: limit)
                } catch let error as HTTPError where error.status == .contentTooLarge {
                    throw payloadTooLarge()
                }
            }
            group.addTask {
                try await Task.sleep(for: readTimeout)
                throw APIError(
                    .requestTimeout, code: "body_timeout",
                    "the request body did not arrive within \(readTimeout) (server.read_timeout)")
            }
            defer { group.cancelAll() }
            guard let body = try await group.next() else { throw APIError.internalError }
            return body
        }
    }

    private func payloadTooLarge() -> APIError {
        APIError(
            .contentTooLarge, code: "payload_too_large",
            "Request body too large. Maximum size is \(config.bodyLimit) bytes.")
    }

    private func authenticate(_ request: Request) throws {
        guard let header = request.headers[.authorization] else {
            var error = APIError(
                .unauthorized, code: "unauthorized", "an API key is required: send Authorization: Bearer <key>")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            var error = APIError(
                .unauthorized, code: "unauthorized", "the Authorization header must be \"Bearer <key>\"")
            error.headers[.wwwAuthenticate] = "Bearer"
            throw error
        }
        let given = Array(parts[1].utf8)
        // Compared in time independent of where the first difference is.
        let known = config.auth.apiKeys.contains { key in
            let expected = Array(key.utf8)
            guard expected.count == given.count else { return false }
            var difference: UInt8 = 0
            for index in 0..<expected.count { difference |= expected[index] ^ given[index] }
            return difference == 0
        }
        guard known else {
            var error = APIError(.unauthorized, code: "unauthorized", "the API key is not valid")
            error.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
            throw error
        }
    }

    private func notFound(_ request: Request) -> APIError {
        let allowed = routes.methods(matching: request.uri.path)
        guard !allowed.isEmpty else {
            return .notFound("no route for \(request.method.rawValue) \(Self.loggedPath(request.uri.path))")
        }
        var names = allowed.map(\.rawValue)
        if config.cors.enabled { names.append("OPTIONS") }
        var error = APIError(
            .methodNotAllowed, code: "method_not_allowed",
            "\(request.method.rawValue) is not allowed on \(Self.loggedPath(request.uri.path)); allowed: \(names.joined(separator: ", "))"
        )
        error.headers[.allow] = names.joined(separator: ", ")
        return error
    }

    private func preflight(_ request: Request) -> Response {
        var headers = HTTPFields()
        let cors = config.cors
        headers[.accessControlAllowMethods] = cors.allowedMethods.joined(separator: ", ")
        headers[.accessControlAllowHeaders] = cors.allowedHeaders.joined(separator: ", ")
        headers[.accessControlMaxAge] = String(Int(cors.maxAge / .seconds(1)))
        return Response(status: .noContent, headers: headers)
    }

    private func allowedOrigin(_ origin: String?) -> String? {
        let origins = config.cors.allowedOrigins
        if origins.contains("*") { return "*" }
        guard let origin, origins.contains(origin) else { return nil }
        return origin
    }

    private func errorResponse(_ error: APIError, requestID: String) -> Response {
        var headers = error.headers
        headers[.contentType] = "application/json"
        return Response(
            status: error.status, headers: headers,
            body: .init(byteBuffer: ByteBuffer(string: error.body(requestID: requestID))))
    }

    // MARK: Request facts

    static func requestID(from header: String?) -> String {
        if let header, (1...128).contains(header.utf8.count),
            header.utf8.allSatisfy({ byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == 0x2D || byte == 0x5F || byte == 0x2E || byte == 0x3A
            })
        {
            return header
        }
        return UUID().uuidString.lowercased()
    }

    /// The client: the TCP peer, unless the peer is a trusted proxy, in which case the
    /// nearest address in `X-Forwarded-For` that is not itself a trusted proxy.
    func clientAddress(of peer: SocketAddress?, forwardedFor: String?) -> String {
        let direct = peer?.ipAddress ?? "unknown"
        let trusted = config.rateLimit.trustedProxies
        guard trusted.contains(direct), let forwardedFor else { return direct }
        let hops = forwardedFor.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() where !hop.isEmpty && !trusted.contains(hop) { return hop }
        return direct
    }

    /// Logs keep the network, not the person: the last IPv4 octet and the last 80 bits
    /// of an IPv6 address are zeroed.
    static func anonymised(_ address: String) -> String {
        if address.contains(":") {
            let groups = address.split(separator: ":", omittingEmptySubsequences: false)
            return groups.prefix(3).joined(separator: ":") + "::"
        }
        let octets = address.split(separator: ".")
        guard octets.count == 4 else { return address }
        return octets.prefix(3).joined(separator: ".") + ".0"
    }

    /// Paths are logged without queries (which may carry anything) and cut short.
    static func loggedPath(_ path: String) -> String { String(path.prefix(200)) }
}

/// Token buckets by client address. Full buckets are dropped once a minute, so the map
/// holds only clients seen recently.
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private struct State {
        var buckets: [String: Bucket] = [:]
        var lastPrune: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    private let state: Mutex<State>

    init(requestsPerSecond: Double, burst: Int) {
        rate = requestsPerSecond
        self.burst = Double(burst)
        state = Mutex(State(lastPrune: .now))
    }

    /// Takes a token for the client if it has one.
    func admit(_ client: String, now: ContinuousClock.Instant = .now) -> Bool {
        state.withLock { state in
            if now - state.lastPrune > .seconds(60) {
                state.lastPrune = now
                state.buckets = state.buckets.filter { _, bucket in
                    bucket.tokens + Self.seconds(now - bucket.updated) * rate < burst
                }
            }
            var bucket = state.buckets[client] ?? Bucket(tokens: burst, updated: now)
            bucket.tokens = min(burst, bucket.tokens + Self.seconds(now - bucket.updated) * rate)
            bucket.updated = now
            let admitted = bucket.tokens >= 1
            if admitted { bucket.tokens -= 1 }
            state.buckets[client] = bucket
            return admitted
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
