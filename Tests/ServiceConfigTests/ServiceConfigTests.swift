import Foundation
import ServiceConfig
import Testing

@Suite struct ConfigDocumentTests {
    let coordinatorYAML = """
        coordinator:
          id: coordinator-2
          grpc_port: 9092
          http_port: 8092
          heartbeat_timeout: 30s
          stale_task_timeout: 5m
          raft:
            node_id: coordinator-2
            raft_port: 7002
            raft_dir: /var/lib/zkp/raft
            bootstrap: false
            heartbeat_timeout: 100ms
            election_timeout: 1s
            peers:
              - id: coordinator-1
                address: 10.0.0.1:7000
              - { id: coordinator-2, address: "10.0.0.2:7000", grpc_address: "10.0.0.2:9092" }
        database:
          host: postgres
          port: 5432
          database: zkp_network
          user: zkp_user
          password: "${DB_PASSWORD}"
          ssl_mode: require
          max_open_conns: 50
        logging:
          level: warn
          format: json
        metrics:
          enabled: true
          port: 9091
          path: /metrics
        """

    func load(_ yaml: String, _ environment: [String: String] = [:]) throws -> CoordinatorConfig {
        try CoordinatorConfig.load(
            try ConfigDocument(
                yaml: yaml, source: "test.yaml", environmentPrefix: "COORDINATOR", environment: environment))
    }

    func expectError(_ yaml: String, _ environment: [String: String] = [:], containing text: String) {
        do {
            _ = try load(yaml, environment)
            Issue.record("expected an error containing \"\(text)\"")
        } catch {
            #expect("\(error)".contains(text), "\(error)")
        }
    }

    @Test("the original keys are read, ${VAR} is interpolated, and COORDINATOR_ variables override keys")
    func originalKeys() throws {
        let config = try load(
            coordinatorYAML,
            ["DB_PASSWORD": "s3cret", "COORDINATOR_COORDINATOR_GRPC_PORT": "9999", "COORDINATOR_DATABASE_HOST": "db2"])
        #expect(config.id == "coordinator-2" && config.nodeID == 2 && config.nodeName == "coordinator-2")
        #expect(config.grpcPort == 9999 && config.httpPort == 8092)
        #expect(config.database.password == "s3cret" && config.database.host == "db2")
        #expect(config.database.sslMode == "require" && config.database.maximumConnections == 50)
        #expect(config.heartbeatTimeout == .seconds(30) && config.staleTaskTimeout == .seconds(300))
        #expect(config.raftHeartbeat == .milliseconds(100) && config.electionTimeout == .seconds(1))
        #expect(config.peers.map(\.nodeID) == [1, 2])
        // A peer without grpc_address is reached at its Raft host on this node's gRPC port.
        #expect(config.peers[0].grpcAddress == "10.0.0.1:9999")
        #expect(config.peers[1].grpcAddress == "10.0.0.2:9092")
        #expect(config.logging.level == "warning" && config.metrics.port == 9091)
    }

    @Test("an unset ${VAR} without a default, and ${VAR:-default}")
    func interpolation() throws {
        expectError(coordinatorYAML, containing: "DB_PASSWORD")
        let config = try load(coordinatorYAML.replacingOccurrences(of: "${DB_PASSWORD}", with: "${DB_PASSWORD:-dev}"))
        #expect(config.database.password == "dev")
    }

    @Test("every key is honoured or refused with a message naming it")
    func unknownAndRetiredKeys() {
        let environment = ["DB_PASSWORD": "x"]
        expectError(coordinatorYAML + "\nextra:\n  thing: 1\n", environment, containing: "unknown key extra.thing")
        expectError(
            coordinatorYAML.replacingOccurrences(of: "  grpc_port: 9092", with: "  grpc_prot: 9092"), environment,
            containing: "coordinator.grpc_prot")
        expectError(coordinatorYAML + "\nredis:\n  host: redis\n", environment, containing: "redis")
        expectError(
            coordinatorYAML.replacingOccurrences(
                of: "    bootstrap: false", with: "    bootstrap: false\n    commit_timeout: 50ms"),
            environment, containing: "coordinator.raft.commit_timeout")
        expectError(coordinatorYAML + "\nzkp:\n  curve: bls12-381\n", environment, containing: "zkp.curve")
    }

    @Test("bad values are named with the key")
    func badValues() {
        let environment = ["DB_PASSWORD": "x"]
        expectError(
            coordinatorYAML, environment.merging(["COORDINATOR_COORDINATOR_HTTP_PORT": "70000"]) { $1 },
            containing: "coordinator.http_port: 70000")
        expectError(
            coordinatorYAML, environment.merging(["COORDINATOR_COORDINATOR_HEARTBEAT_TIMEOUT": "soon"]) { $1 },
            containing: "coordinator.heartbeat_timeout")
        expectError(
            coordinatorYAML, environment.merging(["COORDINATOR_COORDINATOR_RAFT_BOOTSTRAP": "maybe"]) { $1 },
            containing: "coordinator.raft.bootstrap")
        expectError(
            coordinatorYAML, environment.merging(["COORDINATOR_DATABASE_SSL_MODE": "prefer"]) { $1 },
            containing: "database.ssl_mode")
        expectError(
            coordinatorYAML.replacingOccurrences(of: "node_id: coordinator-2", with: "node_id: primary"), environment,
            containing: "coordinator.raft.node_id")
        expectError("coordinator: [1, 2\n", containing: "not valid YAML")
    }

    @Test("worker keys: a comma-separated coordinator list, defaults, and refusals")
    func workerKeys() throws {
        let yaml = """
            worker:
              id: worker-7
              coordinator_address: "127.0.0.1:9091, 127.0.0.1:9092"
              concurrency: 2
              heartbeat_interval: 5s
              register_retries: 3
              task_timeout: 5m
            zkp:
              curve: bn254
              backend: groth16
              compile_cache_size: 50
            """
        let config = try WorkerConfig.load(
            try ConfigDocument(
                yaml: yaml, source: "w.yaml", environmentPrefix: "WORKER",
                environment: ["WORKER_WORKER_CONCURRENCY": "1"]))
        #expect(config.id == "worker-7" && config.coordinators == ["127.0.0.1:9091", "127.0.0.1:9092"])
        #expect(config.concurrency == 1 && config.heartbeatInterval == .seconds(5) && config.keysInMemory == 50)
        #expect(config.metrics.enabled == false && config.metrics.port == 9092)
        #expect(throws: ConfigError.self) {
            try WorkerConfig.load(
                try ConfigDocument(
                    yaml: yaml + "\n  merkle_tree_depth: 8\n", source: "w.yaml", environmentPrefix: "WORKER",
                    environment: [:]))
        }
    }

    @Test("gateway keys: the original sections, lists from YAML or the environment, and refusals")
    func gatewayKeys() throws {
        let yaml = """
            server:
              host: 127.0.0.1
              port: 8081
              read_timeout: 10s
              write_timeout: 20s
              idle_timeout: 60s
            gateway:
              coordinator_addresses: ["c1:9090", "c2:9090"]
            rate_limit:
              enabled: true
              requests_per_second: 2.5
              burst: 5
              whitelist: ["127.0.0.1"]
            cors:
              allowed_origins: ["https://app.example"]
              allowed_methods: [get, post]
            logging:
              level: debug
              format: console
            zkp:
              curve: bn254
            """
        func load(_ text: String, _ environment: [String: String] = [:]) throws -> GatewayConfig {
            try GatewayConfig.load(
                try ConfigDocument(
                    yaml: text, source: "g.yaml", environmentPrefix: "API_GATEWAY", environment: environment))
        }
        let config = try load(yaml, ["API_GATEWAY_RATE_LIMIT_BURST": "7"])
        #expect(config.port == 8081 && config.readTimeout == .seconds(10) && config.writeTimeout == .seconds(20))
        #expect(config.coordinators == ["c1:9090", "c2:9090"])
        #expect(config.rateLimit.requestsPerSecond == 2.5 && config.rateLimit.burst == 7)
        #expect(config.cors.allowedMethods == ["GET", "POST"] && config.auth.anonymous)
        #expect(config.bodyLimit == 5 << 20 && config.dedupWindow == .seconds(300))
        #expect(config.finishedJobCache == 10_000)
        #expect(try load(yaml, ["API_GATEWAY_GATEWAY_FINISHED_JOB_CACHE": "0"]).finishedJobCache == 0)
        let overridden = try load(yaml, ["API_GATEWAY_GATEWAY_COORDINATOR_ADDRESSES": "a:1, b:2"])
        #expect(overridden.coordinators == ["a:1", "b:2"])

        func refusal(_ text: String) -> String {
            do {
                _ = try load(text)
                return ""
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal("server:\n  host: 0.0.0.0").contains("auth.api_keys is empty while server.host 0.0.0.0"))
        #expect(refusal("server:\n  host: 0.0.0.0\nauth:\n  allow_anonymous: true").isEmpty)
        #expect(refusal("server:\n  host: 0.0.0.0\nauth:\n  api_keys: [\"0123456789abcdef\"]").isEmpty)
        #expect(refusal("auth:\n  api_keys: [short]").contains("too short"))
        #expect(refusal("database:\n  host: db").contains("the gateway keeps no database"))
        #expect(refusal("redis:\n  host: r").contains("there is no Redis"))
        #expect(refusal("rate_limit:\n  requests_per_second: fast").contains("rate_limit.requests_per_second"))
        #expect(refusal("gateway:\n  finished_job_cache: -1").contains("gateway.finished_job_cache: -1 is outside"))
        #expect(refusal("server:\n  host: 127.0.0.1\n  prot: 1").contains("unknown key server.prot"))
    }

    @Test("Go-style durations")
    func durations() throws {
        let document = try ConfigDocument(
            yaml: "a: 1m30s\nb: 250ms\nc: 2h\nd: 1.5s\ne: 10\n", source: "d.yaml", environmentPrefix: "X",
            environment: [:])
        #expect(try document.duration("a", default: .zero) == .seconds(90))
        #expect(try document.duration("b", default: .zero) == .milliseconds(250))
        #expect(try document.duration("c", default: .zero) == .seconds(7200))
        #expect(try document.duration("d", default: .zero) == .milliseconds(1500))
        #expect(throws: ConfigError.self) { try document.duration("e", default: .zero) }
    }

    @Test("the example cluster's configuration files load")
    func exampleConfigs() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("configs/cluster")
        for n in 1...3 {
            let config = try CoordinatorConfig.load(
                try ConfigDocument(
                    contentsOf: root.appendingPathComponent("coordinator-\(n).yaml").path,
                    environmentPrefix: "COORDINATOR", environment: [:]))
            #expect(config.nodeID == UInt64(n) && config.peers.count == 3 && config.bootstrap == (n == 1))
        }
        for n in 1...2 {
            let config = try WorkerConfig.load(
                try ConfigDocument(
                    contentsOf: root.appendingPathComponent("worker-\(n).yaml").path, environmentPrefix: "WORKER",
                    environment: [:]))
            #expect(config.coordinators.count == 3)
        }
        let gateway = try GatewayConfig.load(
            try ConfigDocument(
                contentsOf: root.appendingPathComponent("gateway.yaml").path, environmentPrefix: "API_GATEWAY",
                environment: [:]))
        #expect(gateway.coordinators.count == 3 && gateway.port == 8080)
    }
}
