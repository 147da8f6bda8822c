import Circuits

/// `/openapi.json`: an OpenAPI 3.0 description of every route the gateway serves. Each
/// route's entry is looked up by its method and path, so a route without a description
/// (or a description without a route) is caught by the test that compares the two.
enum OpenAPIDocument {
    typealias JSON = OrderedJSON

    static func build(routes: [Route], metricsPath: String?) -> JSON {
        var paths: [(String, [(String, JSON)])] = []
        for route in routes {
            let key = route.path == metricsPath ? "GET /metrics" : "\(route.method.rawValue) \(route.path)"
            guard let operation = operations[key] else { continue }
            let method = route.method.rawValue.lowercased()
            if let index = paths.firstIndex(where: { $0.0 == route.path }) {
                paths[index].1.append((method, operation))
            } else {
                paths.append((route.path, [(method, operation)]))
            }
        }
        return .object([
            ("openapi", .string("3.0.3")),
            (
                "info",
                .object([
                    ("title", .string("ZKP Network API")), ("version", .string(ZKPVersion.current)),
                    (
                        "description",
                        .string(
                            "Groth16 proofs on BN254 from a fault-tolerant proving cluster. Routes under /api/ need Authorization: Bearer <key> when the gateway has API keys."
                        )
                    ),
                ])
            ),
            ("paths", .object(paths.map { ($0.0, .object($0.1)) })),
            (
                "components",
                .object([
                    ("schemas", .object(schemas)),
                    (
                        "securitySchemes",
                        .object([("apiKey", .object([("type", .string("http")), ("scheme", .string("bearer"))]))])
                    ),
                ])
            ),
        ])
    }

    /// The documented operations by "METHOD path".
    static var documentedKeys: Set<String> { Set(operations.keys) }

    // MARK: Building blocks

    static func ref(_ name: String) -> JSON { .object([("$ref", .string("#/components/schemas/\(name)"))]) }
    static func string(_ extra: [(String, JSON)] = []) -> JSON { .object([("type", .string("string"))] + extra) }
    static let nullableString: JSON = .object([("type", .string("string")), ("nullable", .bool(true))])
    static let integer: JSON = .object([("type", .string("integer"))])
    static let boolean: JSON = .object([("type", .string("boolean"))])
    static func array(_ items: JSON) -> JSON { .object([("type", .string("array")), ("items", items)]) }
    static func object(_ properties: [(String, JSON)], required: [String]? = nil, open: Bool = true) -> JSON {
        var members: [(String, JSON)] = [("type", .string("object")), ("properties", .object(properties))]
        members.append(("required", .array((required ?? properties.map(\.0)).map { .string($0) })))
        if !open { members.append(("additionalProperties", .bool(false))) }
        return .object(members)
    }

    static func content(_ schema: JSON, type: String = "application/json") -> JSON {
        .object([(type, .object([("schema", schema)]))])
    }

    static func response(
        _ description: String, _ schema: JSON? = nil, type: String = "application/json",
        links: [(String, JSON)] = []
    ) -> JSON {
        var members: [(String, JSON)] = [("description", .string(description))]
        if let schema { members.append(("content", content(schema, type: type))) }
        if !links.isEmpty { members.append(("links", .object(links))) }
        return .object(members)
    }

    /// Links from a response that names a resource to the operations that read it, so a
    /// client (or a stateful API fuzzer) knows where the id in `expression` leads.
    static func links(_ operationIDs: [String], id expression: String) -> [(String, JSON)] {
        operationIDs.map { operationID in
            (
                operationID,
                .object([
                    ("operationId", .string(operationID)),
                    ("parameters", .object([("id", .string(expression))])),
                ])
            )
        }
    }

    static let jobLinks = links(
        ["getJob", "waitJob", "jobProof", "jobPublicSignals", "jobCalldata", "cancelJob"], id: "$response.body#/job/id")
    static let circuitLinks = links(
        ["getCircuit", "verificationKey", "solidityVerifier"], id: "$response.body#/circuit/id")
    static let taskLinks = links(["taskStatus", "getJob", "waitJob"], id: "$response.body#/task_id")

    static let errorResponse = response("Refused: the envelope says why", ref("Error"))

    static func operation(
        _ id: String, _ summary: String, parameters: [JSON] = [], body: JSON? = nil,
        bodyType: String = "application/json",
        responses: [(String, JSON)], secured: Bool = true
    ) -> JSON {
        var members: [(String, JSON)] = [("operationId", .string(id)), ("summary", .string(summary))]
        if !parameters.isEmpty { members.append(("parameters", .array(parameters))) }
        if let body {
            members.append(
                ("requestBody", .object([("required", .bool(true)), ("content", content(body, type: bodyType))])))
        }
        var all = responses
        // Every route can be refused by the middleware.
        for (code, reason) in [
            ("400", "Invalid request"), ("401", "Missing or wrong API key"), ("404", "Not found"),
            ("409", "Conflict"), ("413", "Body too large"), ("429", "Rate limit exceeded"),
            ("502", "A coordinator failed the request"), ("503", "The cluster cannot take requests now"),
            ("504", "No answer in time"),
        ] where !all.contains(where: { $0.0 == code }) {
            all.append((code, response(reason, ref("Error"))))
        }
        members.append(("responses", .object(all)))
        if secured { members.append(("security", .array([.object([("apiKey", .array([]))]), .object([])]))) }
        return .object(members)
    }

    static func pathParameter(_ name: String, _ description: String, schema: JSON = identifier) -> JSON {
        .object([
            ("name", .string(name)), ("in", .string("path")), ("required", .bool(true)),
            ("description", .string(description)), ("schema", schema),
        ])
    }

    /// Job and circuit ids: what the server issues and accepts for registration.
    static let identifier = string([("pattern", .string("^[A-Za-z0-9._:-]{1,128}$"))])
    /// A leaf: hex, an optional 0x, whole bytes, 1–32 of them (below r is checked, not described).
    static let leaf = string([
        ("pattern", .string("^(0[xX])?([0-9a-fA-F]{2}){1,32}$")),
        ("description", .string("Hex, optional 0x, at most 32 bytes, below r")),
    ])

    static func queryParameter(_ name: String, _ description: String, schema: JSON) -> JSON {
        .object([
            ("name", .string(name)), ("in", .string("query")), ("required", .bool(false)),
            ("description", .string(description)), ("schema", schema),
        ])
    }

    static func envelope(_ name: String, _ schema: JSON) -> JSON {
        object([("success", boolean), (name, schema), ("request_id", string())])
    }

    // MARK: Operations

    static let jobID = pathParameter("id", "The job's id")
    static let circuitID = pathParameter("id", "The circuit's id")

    static let operations: [String: JSON] = [
        "GET /": operation(
            "serviceInformation", "Service name and version",
            responses: [
                ("200", response("The service", object([("service", string()), ("version", string())])))
            ], secured: false),
        "GET /health": operation(
            "health", "Whether a coordinator with a leader answers",
            responses: [("200", response("Healthy", ref("Health"))), ("503", response("Unhealthy", ref("Health")))],
            secured: false),
        "GET /ready": operation(
            "ready", "Whether the gateway can take requests",
            responses: [
                ("200", response("Ready", object([("status", string())]))),
                ("503", response("Not ready", object([("status", string()), ("reason", string())]))),
            ], secured: false),
        "GET /openapi.json": operation(
            "openAPI", "This document", responses: [("200", response("OpenAPI 3.0", .object([])))], secured: false),
        "GET /metrics": operation(
            "metrics", "Prometheus metrics",
            responses: [("200", response("Text format 0.0.4", string(), type: "text/plain"))],
            secured: false),
        "POST /api/v1/tasks/merkle": operation(
            "submitMerkleTask", "Prove membership of a leaf in a MiMC Merkle tree (the original API)",
            body: object(
                [
                    (
                        "leaves",
                        .object([
                            ("type", .string("array")), ("items", leaf), ("minItems", .integer(1)),
                            ("maxItems", .integer(1000)),
                        ])
                    ),
                    (
                        "leaf_index",
                        // null means 0, as in the original API.
                        .object([("type", .string("integer")), ("minimum", .integer(0)), ("nullable", .bool(true))])
                    ),
                ], required: ["leaves"]),
            responses: [
                ("202", response("Task created", ref("TaskCreated"), links: taskLinks)),
                (
                    "200",
                    response(
                        "The same request within the dedup window: the first task", ref("TaskCreated"),
                        links: taskLinks)
                ),
            ]),
        "GET /api/v1/tasks/{id}": operation(
            "taskStatus", "A task's status and, when completed, its proof (the original API)",
            parameters: [pathParameter("id", "The task's id (a UUID)", schema: string([("format", .string("uuid"))]))],
            responses: [("200", response("The task", ref("TaskStatus")))]),
        "POST /api/v1/jobs": operation(
            "submitJob", "Submit a job for any registered circuit",
            body: object(
                [
                    ("circuit_id", identifier),
                    ("inputs", .object([("type", .string("object"))])),
                    ("idempotency_key", string([("minLength", .integer(1)), ("maxLength", .integer(256))])),
                    (
                        "max_retries",
                        .object([("type", .string("integer")), ("minimum", .integer(0)), ("maximum", .integer(100))])
                    ),
                    ("deadline", string([("format", .string("date-time"))])),
                ], required: ["circuit_id", "inputs"], open: false),
            responses: [
                ("202", response("Job accepted", ref("JobSubmitted"), links: jobLinks)),
                (
                    "200",
                    response("The idempotency key matched an earlier job", ref("JobSubmitted"), links: jobLinks)
                ),
            ]),
        "GET /api/v1/jobs": operation(
            "listJobs", "Jobs, newest first, by pages",
            parameters: [
                queryParameter(
                    "status", "Only jobs in this status",
                    schema: string([
                        (
                            "enum",
                            .array(
                                ["pending", "assigned", "in_progress", "completed", "failed", "cancelled"].map {
                                    .string($0)
                                })
                        )
                    ])),
                queryParameter("circuit_id", "Only jobs of this circuit", schema: string()),
                queryParameter(
                    "limit", "At most this many (1–1000, default 100)",
                    schema: .object([
                        ("type", .string("integer")), ("minimum", .integer(1)), ("maximum", .integer(1000)),
                    ])),
                queryParameter("cursor", "next_cursor from the previous page", schema: string()),
            ],
            responses: [
                (
                    "200",
                    response(
                        "A page of jobs",
                        object([
                            ("success", boolean), ("jobs", array(ref("Job"))), ("next_cursor", nullableString),
                            ("request_id", string()),
                        ]))
                )
            ]),
        "GET /api/v1/jobs/{id}": operation(
            "getJob", "A job", parameters: [jobID],
            responses: [("200", response("The job", envelope("job", ref("Job"))))]),
        "DELETE /api/v1/jobs/{id}": operation(
            "cancelJob", "Cancel a job that has not ended",
            parameters: [jobID, queryParameter("reason", "Why, kept with the job", schema: string())],
            responses: [("200", response("The cancelled job", envelope("job", ref("Job"))))]),
        "GET /api/v1/jobs/{id}/wait": operation(
            "waitJob", "Wait until the job ends or the timeout passes",
            parameters: [
                jobID,
                queryParameter(
                    "timeout", "Seconds to wait (default 30; cut to the gateway's own time limit)",
                    schema: .object([("type", .string("number")), ("minimum", .integer(0))])),
            ],
            responses: [
                (
                    "200",
                    response(
                        "The job as it stands",
                        object([("success", boolean), ("done", boolean), ("job", ref("Job")), ("request_id", string())])
                    )
                )
            ]),
        "GET /api/v1/jobs/{id}/proof": operation(
            "jobProof", "snarkjs proof.json", parameters: [jobID],
            responses: [("200", response("proof.json", ref("SnarkjsProof")))]),
        "GET /api/v1/jobs/{id}/public": operation(
            "jobPublicSignals", "snarkjs public.json", parameters: [jobID],
            responses: [("200", response("public.json", array(string())))]),
        "GET /api/v1/jobs/{id}/calldata": operation(
            "jobCalldata", "The Solidity verifier's verifyProof arguments", parameters: [jobID],
            responses: [("200", response("Calldata as snarkjs prints it", string(), type: "text/plain"))]),
        "POST /api/v1/circuits": operation(
            "registerCircuit", "Register a circuit; its setup is queued",
            body: object(
                [
                    ("id", identifier),
                    ("family", string([("enum", .array([.string("merkle"), .string("circom")]))])),
                    (
                        "definition",
                        object([
                            ("hash", string([("enum", .array([.string("mimc"), .string("poseidon")]))])),
                            (
                                "depth",
                                .object([
                                    ("type", .string("integer")), ("minimum", .integer(0)),
                                    ("maximum", .integer(Int64(MerkleCircuit.maximumDepth))),
                                ])
                            ),
                        ])
                    ),
                    ("r1cs", string([("format", .string("byte"))])),
                ], required: ["id", "family"], open: false),
            responses: [("202", response("Registered", envelope("circuit", ref("Circuit")), links: circuitLinks))]),
        "GET /api/v1/circuits": operation(
            "listCircuits", "Registered circuits",
            responses: [
                (
                    "200",
                    response(
                        "The circuits",
                        object([("success", boolean), ("circuits", array(ref("Circuit"))), ("request_id", string())]))
                )
            ]),
        "GET /api/v1/circuits/{id}": operation(
            "getCircuit", "A circuit", parameters: [circuitID],
            responses: [("200", response("The circuit", envelope("circuit", ref("Circuit"))))]),
        "GET /api/v1/circuits/{id}/verification_key": operation(
            "verificationKey", "snarkjs verification_key.json", parameters: [circuitID],
            responses: [("200", response("verification_key.json", ref("VerificationKey")))]),
        "GET /api/v1/circuits/{id}/verifier.sol": operation(
            "solidityVerifier", "A Solidity verifier contract for the circuit", parameters: [circuitID],
            responses: [("200", response("Solidity source", string(), type: "text/plain"))]),
        "POST /api/v1/verify": operation(
            "verify", "Check a proof against public signals under a circuit's key or a given key",
            body: object(
                [
                    ("proof", ref("SnarkjsProof")), ("public_signals", array(string())), ("circuit_id", string()),
                    ("verification_key", ref("VerificationKey")),
                ], required: ["proof", "public_signals"]),
            responses: [
                (
                    "200",
                    response(
                        "Whether the proof holds",
                        object([
                            ("success", boolean), ("valid", boolean), ("reason", string()), ("request_id", string()),
                        ])
                    )
                )
            ]),
        "GET /api/v1/cluster": operation(
            "clusterStatus", "Members, roles, term, leader, lag and workers",
            responses: [("200", response("The cluster", ref("ClusterStatus")))]),
    ]

    // MARK: Schemas

    static let schemas: [(String, JSON)] = [
        (
            "Error",
            object([("success", boolean), ("error", string()), ("code", string()), ("request_id", string())])
        ),
        (
            "Health",
            object(
                [
                    ("status", string()), ("service", string()),
                    ("cluster", object([("reachable", boolean)], required: ["reachable"])),
                ])
        ),
        (
            "TaskCreated",
            object([
                ("success", boolean), ("task_id", string()), ("status", string()), ("message", string()),
                ("request_id", string()),
            ])
        ),
        (
            "TaskStatus",
            object(
                [
                    ("success", boolean), ("task_id", string()), ("status", string()), ("proof", string()),
                    ("merkle_root", string()),
                    (
                        "public_inputs",
                        object([("metadata", string()), ("signals", array(string())), ("verification_key", string())])
                    ),
                    ("circuit_type", string()), ("circuit_id", string()), ("error", string()),
                    ("created_at", string()), ("completed_at", string()), ("request_id", string()),
                ],
                required: ["success", "task_id", "status", "circuit_type", "circuit_id", "created_at", "request_id"])
        ),
        (
            "Job",
            object([
                ("id", string()), ("circuit_id", string()), ("circuit_type", string()), ("status", string()),
                ("attempts", integer), ("max_retries", integer), ("worker_id", nullableString),
                ("error", nullableString), ("created_at", string()), ("updated_at", string()),
                ("completed_at", nullableString), ("deadline", nullableString),
                ("proof", .object([("allOf", .array([ref("SnarkjsProof")])), ("nullable", .bool(true))])),
                (
                    "public_signals",
                    .object([("type", .string("array")), ("items", string()), ("nullable", .bool(true))])
                ),
            ])
        ),
        (
            "JobSubmitted",
            object([("success", boolean), ("duplicate", boolean), ("job", ref("Job")), ("request_id", string())])
        ),
        (
            "SnarkjsProof",
            object([
                ("pi_a", array(string())), ("pi_b", array(array(string()))), ("pi_c", array(string())),
                ("protocol", string()), ("curve", string()),
            ])
        ),
        (
            "VerificationKey",
            object(
                [
                    ("protocol", string()), ("curve", string()), ("nPublic", integer),
                    ("vk_alpha_1", array(string())), ("vk_beta_2", array(array(string()))),
                    ("vk_gamma_2", array(array(string()))), ("vk_delta_2", array(array(string()))),
                    ("vk_alphabeta_12", array(array(array(string())))), ("IC", array(array(string()))),
                ],
                required: [
                    "protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2", "vk_gamma_2", "vk_delta_2", "IC",
                ])
        ),
        (
            "Circuit",
            object([
                ("id", string()), ("family", string()), ("status", string()),
                ("definition", .object([("type", .string("object")), ("nullable", .bool(true))])),
                ("r1cs_digest", nullableString),
                ("public_inputs", .object([("type", .string("integer")), ("nullable", .bool(true))])),
                ("setup_job_id", nullableString), ("proving_key_digest", nullableString),
                ("verification_key_digest", nullableString), ("error", nullableString),
                ("registered_at", string()),
            ])
        ),
        (
            "ClusterStatus",
            object([
                ("success", boolean), ("leader_id", integer), ("leader_grpc_address", string()), ("term", integer),
                ("members", array(.object([("type", .string("object"))]))),
                ("workers", array(.object([("type", .string("object"))]))),
                ("jobs", .object([("type", .string("object"))])), ("database", string()), ("projection_lag", integer),
                ("request_id", string()),
            ])
        ),
    ]
}
