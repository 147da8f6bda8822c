import ClusterServices
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobClient
import LocalCluster
import Logging
import NIOCore
import RaftNode
import ServiceConfig
import Synchronization

/// One `zkp dev` stack (a single-voter coordinator on SQLite and a worker) shared by the
/// gateway tests, started once in this process on free loopback ports. Each test builds
/// its own gateway in front of it, with the configuration it is about.
enum SharedStack {
    struct Running: Sendable {
        let stack: DevStack
        let grpcPort: Int
    }

    static let running: Task<Running, any Error> = Task {
        let ports = try freeLoopbackPorts(4)
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("zkp-gateway-tests-\(UUID().uuidString.prefix(8))").path
        let stack = try await DevStack(
            dataDirectory: directory,
            ports: DevPorts(gateway: ports[0], coordinatorGRPC: ports[1], coordinatorHTTP: ports[2], raft: ports[3]),
            logFormat: "console", logLevel: "warning")
        Task.detached { try? await stack.run() }
        let client = JobClient(coordinators: [PeerAddress(host: "127.0.0.1", port: ports[1])])
        // Ready when the coordinator leads and the worker has registered.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let status = try? await client.clusterStatus(timeout: .seconds(1)), status.leaderID != 0,
                !status.workers.isEmpty
            {
                break
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        await client.shutdown()
        return Running(stack: stack, grpcPort: ports[1])
    }
}

/// A gateway for one test: its configuration is YAML, read the way `zkp gateway` reads it.
struct TestGateway {
    let gateway: Gateway
    let jobs: JobClient

    init(yaml: String = "", coordinatorPort: Int? = nil, attempts: Int = 20) async throws {
        let port: Int
        if let coordinatorPort {
            port = coordinatorPort
        } else {
            port = try await SharedStack.running.value.grpcPort
        }
        // The listener and the coordinator come as environment overrides, as an operator's would.
        let environment = [
            "API_GATEWAY_SERVER_HOST": "127.0.0.1", "API_GATEWAY_GATEWAY_COORDINATOR_ADDRESSES": "127.0.0.1:\(port)",
        ]
        let config = try GatewayConfig.load(
            ConfigDocument(yaml: yaml, source: "test", environmentPrefix: "API_GATEWAY", environment: environment))
        jobs = JobClient(
            coordinators: [PeerAddress(host: "127.0.0.1", port: port)], callTimeout: config.callTimeout,
            attempts: attempts)
        var logger = Logger(label: "zkp.gateway.test")
        logger.logLevel = .warning
        gateway = Gateway(config: config, jobs: jobs, logger: logger)
    }

    /// Runs `body` against the gateway served on a free port.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        let app = gateway.makeApplication(port: 0)
        let value = try await app.test(.live) { client in try await body(client) }
        await jobs.shutdown()
        return value
    }
}

/// A response's body as JSON, and small helpers for reading it.
struct Answer {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    init(_ response: TestResponse) {
        status = response.status
        headers = response.headers
        text = String(buffer: response.body)
    }

    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The top-level keys in the order they appear in the text.
    var keyOrder: [String] {
        guard let object = json as [String: Any]? else { return [] }
        return object.keys.compactMap { key -> (String, String.Index)? in
            guard let range = text.range(of: "\"\(key)\":") else { return nil }
            return (key, range.lowerBound)
        }.sorted { $0.1 < $1.1 }.map(\.0)
    }

    subscript(_ key: String) -> Any? { json[key] }
    var error: String { json["error"] as? String ?? "" }
    var code: String { json["code"] as? String ?? "" }
    var job: [String: Any] { json["job"] as? [String: Any] ?? [:] }
}

extension TestClientProtocol {
    func call(
        _ method: HTTPRequest.Method, _ uri: String, json body: String? = nil, headers: HTTPFields = [:]
    ) async throws -> Answer {
        var headers = headers
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Answer(response)
    }
}
