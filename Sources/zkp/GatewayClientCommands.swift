import ArgumentParser
import Foundation

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// Exit codes of the gateway client commands, for scripts: 0 done; 1 the job ended
/// without a proof (failed or cancelled) or a proof is invalid; 2 the request was
/// refused (bad input, unknown id, wrong key); 3 the service is unavailable or did not
/// answer; 4 still not done when `--timeout` passed.
enum ClientExit {
    static let jobUnsuccessful = ExitCode(1)
    static let refused = ExitCode(2)
    static let unavailable = ExitCode(3)
    static let timedOut = ExitCode(4)
}

/// Where the gateway is and how to reach it.
struct GatewayOptions: ParsableArguments {
    @Option(help: "The gateway's URL.") var gateway = "http://127.0.0.1:8080"
    @Option(help: "An API key (else $ZKP_API_KEY), sent as Authorization: Bearer.") var apiKey: String?

    /// One request; a refusal prints the gateway's reason and exits 2 (4xx) or 3 (5xx).
    func call(_ method: String, _ path: String, json: Data? = nil, timeout: TimeInterval = 60) async throws -> Data {
        guard let url = URL(string: gateway.trimmingSuffix("/") + path) else {
            throw InputError("--gateway \(gateway) is not a URL")
        }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = method
        if let key = apiKey ?? ProcessInfo.processInfo.environment["ZKP_API_KEY"], !key.isEmpty {
            request.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization")
        }
        if let json {
            request.httpBody = json
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let data: Data
        let response: URLResponse
        do {
            (data, response) = try await URLSession.shared.data(for: request)
        } catch {
            printError("\(gateway) did not answer: \(error.localizedDescription)")
            throw ClientExit.unavailable
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            let reason = object?["error"] as? String ?? String(decoding: data.prefix(300), as: UTF8.self)
            printError("\(status): \(reason)")
            throw status >= 500 || status == 0 ? ClientExit.unavailable : ClientExit.refused
        }
        return data
    }

    func object(_ method: String, _ path: String, json: Data? = nil, timeout: TimeInterval = 60) async throws
        -> [String: Any]
    {
        let data = try await call(method, path, json: json, timeout: timeout)
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            printError("the gateway's answer is not a JSON object")
            throw ClientExit.unavailable
        }
        return object
    }

    /// Long-polls until the job ends or `timeout` seconds pass, with a progress line on
    /// standard error when it is a terminal. Exits 1 if it failed or was cancelled, 4 on
    /// timeout.
    func waitForJob(_ id: String, timeout: Int) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        let started = Date()
        let interactive = isatty(2) != 0
        while true {
            let left = max(0, min(25, deadline.timeIntervalSinceNow))
            let answer = try await object(
                "GET", "/api/v1/jobs/\(id)/wait?timeout=\(Int(left.rounded(.up)))", timeout: left + 30)
            let job = answer["job"] as? [String: Any] ?? [:]
            let status = job["status"] as? String ?? "?"
            if interactive {
                let attempts = job["attempts"] as? Int ?? 0
                let line = "\r\(id): \(status), attempt \(max(attempts, 1)), \(Int(-started.timeIntervalSinceNow)) s  "
                line.withCString { _ = write(2, $0, strlen($0)) }
            }
            if answer["done"] as? Bool == true {
                if interactive { _ = write(2, "\n", 1) }
                if status != "completed" {
                    printError("job \(id) \(status): \(job["error"] as? String ?? "")")
                    try printObject(job)
                    throw ClientExit.jobUnsuccessful
                }
                return job
            }
            if deadline.timeIntervalSinceNow <= 0 {
                if interactive { _ = write(2, "\n", 1) }
                printError("job \(id) is still \(status) after \(timeout) s")
                throw ClientExit.timedOut
            }
        }
    }
}

func printObject(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
    FileHandle.standardOutput.write(data + Data("\n".utf8))
}

struct TaskCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "task", abstract: "The original API's tasks, through a gateway.", subcommands: [Merkle.self])

    struct Merkle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Request a Merkle membership proof (MiMC tree) for one leaf.",
            discussion: "Prints the task (its id first). With --wait, waits and prints the completed job.")
        @OptionGroup var gateway: GatewayOptions
        @Option(help: "The leaves, hex, comma-separated (0x optional).") var leaves: String
        @Option(help: "The index of the leaf to prove.") var index = 0
        @Flag(help: "Wait for the proof.") var wait = false
        @Option(help: "Seconds to wait at most.") var timeout = 300

        func run() async throws {
            try await exitingTwoOnError {
                let list = leaves.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                let body = try JSONSerialization.data(withJSONObject: ["leaves": list, "leaf_index": index])
                let task = try await gateway.object("POST", "/api/v1/tasks/merkle", json: body)
                guard wait, let id = task["task_id"] as? String else { return try printObject(task) }
                try printObject(try await gateway.waitForJob(id, timeout: timeout))
            }
        }
    }
}

struct JobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job", abstract: "Proof jobs, through a gateway.",
        discussion: "Exit codes: 0 done, 1 job failed or cancelled, 2 refused, 3 unavailable, 4 timed out.",
        subcommands: [Submit.self, Status.self, Wait.self, Proof.self, Cancel.self])

    struct Submit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Submit a job; prints it (with --wait, once done).")
        @OptionGroup var gateway: GatewayOptions
        @Option(help: "The circuit's id.") var circuit: String
        @Option(help: "A JSON file with the job's inputs.") var inputs: String
        @Option(help: "Repeats with this key answer with the first job.") var idempotencyKey: String?
        @Option(help: "Retries after the first attempt (0–100).") var maxRetries: Int?
        @Flag(help: "Wait for the proof.") var wait = false
        @Option(help: "Seconds to wait at most.") var timeout = 300

        func run() async throws {
            try await exitingTwoOnError {
                let data = try Files.read(inputs, what: "--inputs")
                guard let parsed = try? JSONSerialization.jsonObject(with: data), parsed is [String: Any] else {
                    throw InputError("--inputs \(inputs): not a JSON object")
                }
                var body: [String: Any] = ["circuit_id": circuit, "inputs": parsed]
                if let idempotencyKey { body["idempotency_key"] = idempotencyKey }
                if let maxRetries { body["max_retries"] = maxRetries }
                let answer = try await gateway.object(
                    "POST", "/api/v1/jobs", json: try JSONSerialization.data(withJSONObject: body))
                let job = answer["job"] as? [String: Any] ?? [:]
                guard wait, let id = job["id"] as? String else { return try printObject(job) }
                try printObject(try await gateway.waitForJob(id, timeout: timeout))
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A job as it stands.")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The job's id.") var id: String

        func run() async throws {
            try await exitingTwoOnError {
                try printObject(try await gateway.object("GET", "/api/v1/jobs/\(id)")["job"] ?? [:])
            }
        }
    }

    struct Wait: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a job to end (a progress line on a terminal); prints it.")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The job's id.") var id: String
        @Option(help: "Seconds to wait at most.") var timeout = 300

        func run() async throws {
            try await exitingTwoOnError { try printObject(try await gateway.waitForJob(id, timeout: timeout)) }
        }
    }

    struct Proof: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "A completed job's proof.json and public.json (snarkjs), or its Solidity calldata.")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The job's id.") var id: String
        @Option(help: "Write proof.json here (default: standard output).") var proof: String?
        @Option(help: "Write public.json here.") var `public`: String?
        @Flag(help: "Print verifyProof's arguments instead.") var calldata = false

        func run() async throws {
            try await exitingTwoOnError {
                if calldata {
                    FileHandle.standardOutput.write(try await gateway.call("GET", "/api/v1/jobs/\(id)/calldata"))
                    return
                }
                let proofData = try await gateway.call("GET", "/api/v1/jobs/\(id)/proof")
                if let proof {
                    try Files.write(proofData, to: proof, what: "--proof")
                } else {
                    FileHandle.standardOutput.write(proofData + Data("\n".utf8))
                }
                if let `public` {
                    try Files.write(
                        try await gateway.call("GET", "/api/v1/jobs/\(id)/public"), to: `public`, what: "--public")
                }
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a job that has not ended.")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The job's id.") var id: String
        @Option(help: "Why (kept with the job).") var reason: String?

        func run() async throws {
            try await exitingTwoOnError {
                var path = "/api/v1/jobs/\(id)"
                if let reason, let encoded = reason.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) {
                    path += "?reason=\(encoded)"
                }
                try printObject(try await gateway.object("DELETE", path)["job"] ?? [:])
            }
        }
    }
}

struct CircuitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "circuit", abstract: "Circuits, through a gateway.",
        subcommands: [Upload.self, List.self, VerificationKey.self, Verifier.self])

    struct Upload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a circom .r1cs (or a built-in Merkle circuit); its setup is queued.")
        @OptionGroup var gateway: GatewayOptions
        @Option(help: "The circuit's id (A–Z a–z 0–9 - _ .).") var id: String
        @Option(help: "A circom .r1cs file.") var r1cs: String?
        @Option(help: "A built-in Merkle circuit's hash: mimc or poseidon.") var hash: String?
        @Option(help: "A built-in Merkle circuit's depth.") var depth: Int?
        @Flag(help: "Wait until the setup has run.") var wait = false
        @Option(help: "Seconds to wait at most.") var timeout = 600

        func run() async throws {
            try await exitingTwoOnError {
                var body: [String: Any] = ["id": id]
                switch (r1cs, hash, depth) {
                case (let path?, nil, nil):
                    body["family"] = "circom"
                    body["r1cs"] = try Files.read(path, what: "--r1cs").base64EncodedString()
                case (nil, let hash?, let depth?):
                    body["family"] = "merkle"
                    body["definition"] = ["hash": hash, "depth": depth]
                default:
                    throw InputError("give --r1cs FILE, or --hash and --depth for a built-in Merkle circuit")
                }
                let answer = try await gateway.object(
                    "POST", "/api/v1/circuits", json: try JSONSerialization.data(withJSONObject: body))
                let circuit = answer["circuit"] as? [String: Any] ?? [:]
                if wait, let setup = circuit["setup_job_id"] as? String {
                    _ = try await gateway.waitForJob(setup, timeout: timeout)
                    return try printObject(try await gateway.object("GET", "/api/v1/circuits/\(id)")["circuit"] ?? [:])
                }
                try printObject(circuit)
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "The registered circuits.")
        @OptionGroup var gateway: GatewayOptions

        func run() async throws {
            try await exitingTwoOnError {
                try printObject(try await gateway.object("GET", "/api/v1/circuits")["circuits"] ?? [])
            }
        }
    }

    struct VerificationKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "vk", abstract: "A circuit's verification_key.json (snarkjs).")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The circuit's id.") var id: String

        func run() async throws {
            try await exitingTwoOnError {
                FileHandle.standardOutput.write(
                    try await gateway.call("GET", "/api/v1/circuits/\(id)/verification_key"))
            }
        }
    }

    struct Verifier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A Solidity verifier contract for a circuit.")
        @OptionGroup var gateway: GatewayOptions
        @Argument(help: "The circuit's id.") var id: String

        func run() async throws {
            try await exitingTwoOnError {
                FileHandle.standardOutput.write(try await gateway.call("GET", "/api/v1/circuits/\(id)/verifier.sol"))
            }
        }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
