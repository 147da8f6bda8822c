import ArgumentParser
import Foundation
import GRPCCore
import JobClient
import RaftNode
import SwiftProtobuf
import Wire

/// The coordinators a client command talks to.
struct ClusterAddressOptions: ParsableArguments {
    @Option(help: "Coordinators' gRPC addresses, comma-separated HOST:PORT (any member answers).")
    var cluster: String = "127.0.0.1:9091,127.0.0.1:9092,127.0.0.1:9093"

    /// Runs `body` with a client, closing it afterwards.
    func withClient<T>(_ body: (JobClient) async throws -> T) async throws -> T {
        let addresses = try cluster.split(separator: ",").map { try PeerAddress(parsing: String($0)) }
        guard !addresses.isEmpty else { throw InputError("--cluster lists no address") }
        let client = JobClient(coordinators: addresses, callTimeout: .seconds(10), attempts: 10)
        do {
            let result = try await body(client)
            await client.shutdown()
            return result
        } catch {
            await client.shutdown()
            throw error
        }
    }
}

/// Prints a protobuf message as JSON (proto field names), one object per line.
func printJSON(_ message: some SwiftProtobuf.Message) throws {
    var options = JSONEncodingOptions()
    options.preserveProtoFieldNames = true
    print(try message.jsonString(options: options))
}

/// Turns a refusal into the CLI's error (exit status 2) with the coordinator's message.
func describingRefusals<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as RPCError {
        throw InputError("\(error.code): \(error.message)")
    }
}

struct JobsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "jobs",
        abstract: "Submit, inspect, wait for and cancel proof jobs on a cluster (zkp.JobService).",
        subcommands: [Submit.self, Get.self, Wait.self, Cancel.self, List.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Submit a job; prints the job (its id, status, ...).")
        @OptionGroup var cluster: ClusterAddressOptions
        @Option(help: "The registered circuit's id.") var circuit: String
        @Option(help: "The job's inputs: a JSON file (for Merkle circuits {\"leaves\", \"leaf_index\"} or input.json).")
        var inputs: String
        @Option(help: "A key that makes repeated submissions answer with the first job.") var idempotencyKey: String?
        @Option(help: "Retries after the first attempt.") var maxRetries: UInt32?
        @Flag(help: "Wait for the job to end and print it then.") var wait = false

        func run() async throws {
            try await exitingTwoOnError {
                var request = Zkp_SubmitJobRequest()
                request.circuitID = circuit
                request.inputsJson = try Files.read(inputs, what: "inputs")
                request.idempotencyKey = idempotencyKey ?? ""
                if let maxRetries { request.maxRetries = maxRetries }
                try await cluster.withClient { client in
                    try await describingRefusals {
                        var job = try await client.submit(request).job
                        if wait { job = try await client.wait(job.id, timeout: .seconds(300)) }
                        try printJSON(job)
                    }
                }
            }
        }
    }

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print a job.")
        @OptionGroup var cluster: ClusterAddressOptions
        @Argument(help: "The job's id.") var id: String

        func run() async throws {
            try await exitingTwoOnError {
                try await cluster.withClient { client in
                    try await describingRefusals { try printJSON(try await client.get(id)) }
                }
            }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a job to end (or the timeout) and print it.")
        @OptionGroup var cluster: ClusterAddressOptions
        @Argument(help: "The job's id.") var id: String
        @Option(help: "Seconds to wait at most.") var timeout: Int = 60

        func run() async throws {
            try await exitingTwoOnError {
                try await cluster.withClient { client in
                    try await describingRefusals {
                        try printJSON(try await client.wait(id, timeout: .seconds(timeout)))
                    }
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job that has not ended.")
        @OptionGroup var cluster: ClusterAddressOptions
        @Argument(help: "The job's id.") var id: String
        @Option(help: "Why.") var reason: String = "cancelled by the client"

        func run() async throws {
            try await exitingTwoOnError {
                try await cluster.withClient { client in
                    try await describingRefusals { try printJSON(try await client.cancel(id, reason: reason)) }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List jobs, newest first (from the SQL projection).")
        @OptionGroup var cluster: ClusterAddressOptions
        @Option(help: "Only jobs in this status.") var status: String?
        @Option(help: "Only jobs of this circuit.") var circuit: String?
        @Option(help: "At most this many.") var limit: UInt32 = 50

        func run() async throws {
            try await exitingTwoOnError {
                var request = Zkp_ListJobsRequest()
                request.status = status ?? ""
                request.circuitID = circuit ?? ""
                request.limit = limit
                try await cluster.withClient { client in
                    try await describingRefusals { try printJSON(try await client.list(request)) }
                }
            }
        }
    }
}

struct CircuitsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circuits",
        abstract: "Register circuits on a cluster (their setup runs once, on a worker), list them, fetch keys.",
        subcommands: [Register.self, List.self, VerificationKey.self])

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a built-in Merkle circuit (--hash, --depth) or a circom one (--r1cs).")
        @OptionGroup var cluster: ClusterAddressOptions
        @Option(help: "The circuit's id (letters, digits, - _ .).") var id: String
        @Option(help: "merkle's hash: mimc or poseidon.") var hash: String?
        @Option(help: "merkle's depth.") var depth: Int?
        @Option(help: "A circom .r1cs file.") var r1cs: String?
        @Flag(help: "Wait for the setup to finish.") var wait = false

        func run() async throws {
            try await exitingTwoOnError {
                var request = Zkp_RegisterCircuitRequest()
                request.id = id
                switch (hash, depth, r1cs) {
                case (let hash?, let depth?, nil):
                    request.family = "merkle"
                    request.definition = Data("{\"hash\":\"\(hash)\",\"depth\":\(depth)}".utf8)
                case (nil, nil, let path?):
                    request.family = "circom"
                    request.r1Cs = try Files.read(path, what: "r1cs")
                default:
                    throw InputError("give --hash and --depth for a Merkle circuit, or --r1cs for a circom one")
                }
                try await cluster.withClient { client in
                    try await describingRefusals {
                        var circuit = try await client.registerCircuit(request)
                        if wait {
                            _ = try await client.wait(circuit.setupJobID, timeout: .seconds(3600))
                            circuit = try await client.circuit(id)
                        }
                        try printJSON(circuit)
                    }
                }
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered circuits.")
        @OptionGroup var cluster: ClusterAddressOptions

        func run() async throws {
            try await exitingTwoOnError {
                try await cluster.withClient { client in
                    try await describingRefusals {
                        for circuit in try await client.circuits() { try printJSON(circuit) }
                    }
                }
            }
        }
    }

    struct VerificationKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verification-key", abstract: "Print a circuit's verification key (snarkjs JSON).")
        @OptionGroup var cluster: ClusterAddressOptions
        @Argument(help: "The circuit's id.") var id: String

        func run() async throws {
            try await exitingTwoOnError {
                try await cluster.withClient { client in
                    try await describingRefusals {
                        FileHandle.standardOutput.write(try await client.verificationKey(id).snarkjsJson)
                        print()
                    }
                }
            }
        }
    }
}

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster", abstract: "A proving cluster's state, and leadership hand-over.",
        subcommands: [Status.self, StepDown.self])

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Members, roles, term, leader, lag, workers and live jobs, as the leader sees them.",
            discussion: """
                Asks the gateway (GET /api/v1/cluster), or, with --cluster, the coordinators \
                themselves over gRPC.
                """)
        @OptionGroup var gateway: GatewayOptions
        @Option(help: "Coordinators' gRPC addresses, comma-separated HOST:PORT, to ask instead of a gateway.")
        var cluster: String?

        func run() async throws {
            try await exitingTwoOnError {
                guard let cluster else {
                    try printObject(try await gateway.object("GET", "/api/v1/cluster"))
                    return
                }
                try await ClusterAddressOptions.parse(["--cluster", cluster]).withClient { client in
                    try await describingRefusals { try printJSON(try await client.clusterStatus()) }
                }
            }
        }
    }

    struct StepDown: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "step-down",
            abstract: "Hand the leadership to another coordinator (before updating the leader).",
            discussion: """
                Finds the leader by the coordinators' /health and asks it, with the admin token, \
                to transfer leadership to the voter it heard from last. Exits 2 when refused, \
                3 when no coordinator answers or none leads.
                """)
        @Option(help: "The coordinators' HTTP addresses (host:port), comma-separated.")
        var coordinators = "127.0.0.1:8091,127.0.0.1:8092,127.0.0.1:8093"
        @Option(help: "coordinator.admin_token (else $ZKP_ADMIN_TOKEN).") var token: String?

        func run() async throws {
            try await exitingTwoOnError {
                guard let token = token ?? ProcessInfo.processInfo.environment["ZKP_ADMIN_TOKEN"], !token.isEmpty else {
                    throw InputError("give --token or set ZKP_ADMIN_TOKEN")
                }
                for address in coordinators.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    // The coordinator's HTTP port answers like a gateway: JSON, refusals as {"error"}.
                    let node = try GatewayOptions.parse(["--gateway", "http://\(address)", "--api-key", token])
                    guard let health = try? await node.object("GET", "/health", timeout: 3),
                        (health["raft"] as? [String: Any])?["is_leader"] as? Bool == true
                    else { continue }
                    let answer = try await node.object("POST", "/admin/step-down", timeout: 10)
                    print("\(address): \(answer["message"] as? String ?? "")")
                    return
                }
                printError("no coordinator in \(coordinators) answered as the leader")
                throw ClientExit.unavailable
            }
        }
    }
}
