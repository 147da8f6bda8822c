import BN254
import Foundation
import Groth16
import Hummingbird
import Wire

/// Circuits (registration, listing, verification keys, Solidity verifiers), proof
/// verification, and the cluster's status.
extension Gateway {
    struct CircuitRequest: Decodable {
        struct MerkleDefinition: Codable {
            var hash: String
            var depth: Int
        }

        var id: String
        var family: String
        var definition: MerkleDefinition?
        /// The circom `.r1cs` file, base64.
        var r1cs: String?
    }

    @Sendable func registerCircuit(_ request: Request, context: GatewayContext) async throws -> Response {
        let body: CircuitRequest = try Self.decode(context)
        var register = Zkp_RegisterCircuitRequest()
        register.id = body.id
        register.family = body.family
        switch body.family {
        case "merkle":
            guard let definition = body.definition else {
                throw APIError.invalidRequest("a merkle circuit needs definition {\"hash\": \"mimc\", \"depth\": 20}")
            }
            guard body.r1cs == nil else { throw APIError.invalidRequest("a merkle circuit takes no r1cs") }
            register.definition = try JSONEncoder().encode(definition)
        case "circom":
            guard let text = body.r1cs else {
                throw APIError.invalidRequest("a circom circuit needs r1cs: the .r1cs file in base64")
            }
            guard let file = Data(base64Encoded: text) else { throw APIError.invalidRequest("r1cs is not base64") }
            guard body.definition == nil else { throw APIError.invalidRequest("a circom circuit takes no definition") }
            register.r1Cs = file
        default:
            throw APIError.invalidRequest("family \"\(body.family.prefix(40))\" is not one of merkle, circom")
        }
        let circuit = try await cluster { try await jobs.registerCircuit(register) }
        var headers = HTTPFields()
        headers[.location] = "/api/v1/circuits/\(circuit.id)"
        return json(
            .object([
                ("success", .bool(true)), ("circuit", Self.circuitJSON(circuit)),
                ("request_id", .string(context.requestID)),
            ]), status: .accepted, headers: headers)
    }

    @Sendable func listCircuits(_ request: Request, context: GatewayContext) async throws -> Response {
        let circuits = try await cluster { try await jobs.circuits() }
        return json(
            .object([
                ("success", .bool(true)), ("circuits", .array(circuits.map(Self.circuitJSON))),
                ("request_id", .string(context.requestID)),
            ]))
    }

    @Sendable func getCircuit(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try Self.circuitID(context)
        let circuit = try await cluster { try await jobs.circuit(id) }
        return json(
            .object([
                ("success", .bool(true)), ("circuit", Self.circuitJSON(circuit)),
                ("request_id", .string(context.requestID)),
            ]))
    }

    /// snarkjs verification_key.json.
    @Sendable func verificationKey(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try Self.circuitID(context)
        let key = try await cluster { try await jobs.verificationKey(id) }
        return text(String(decoding: key.snarkjsJson, as: UTF8.self), contentType: "application/json")
    }

    @Sendable func solidityVerifier(_ request: Request, context: GatewayContext) async throws -> Response {
        let id = try Self.circuitID(context)
        let key = try await verifyingKey(circuit: id)
        return text(SolidityVerifier.contract(for: key), contentType: "text/plain; charset=utf-8")
    }

    /// Checks a proof against public signals under a circuit's key or a key given inline.
    struct VerifyRequest: Decodable {
        var proof: SnarkjsProof
        var publicSignals: [String]
        var circuitID: String?
        var verificationKey: SnarkjsVerificationKey?

        enum CodingKeys: String, CodingKey {
            case proof
            case publicSignals = "public_signals"
            case circuitID = "circuit_id"
            case verificationKey = "verification_key"
        }
    }

    @Sendable func verify(_ request: Request, context: GatewayContext) async throws -> Response {
        let body: VerifyRequest = try Self.decode(context)
        let key: VerifyingKey
        switch (body.circuitID, body.verificationKey) {
        case (let circuit?, nil):
            key = try await verifyingKey(circuit: circuit)
        case (nil, let given?):
            do {
                key = try VerifyingKey(snarkjs: given)
            } catch {
                throw APIError.invalidRequest("verification_key: \(error)")
            }
        default:
            throw APIError.invalidRequest("give exactly one of circuit_id and verification_key")
        }
        let proof: Proof
        let signals: [Fr]
        do {
            proof = try Proof(snarkjs: body.proof)
        } catch {
            throw APIError.invalidRequest("proof: \(error)")
        }
        do {
            signals = try SnarkjsPublicSignals.decode(body.publicSignals)
        } catch {
            throw APIError.invalidRequest("public_signals: \(error)")
        }
        guard signals.count == key.publicCount else {
            throw APIError.invalidRequest(
                "public_signals has \(signals.count) values; the key takes \(key.publicCount)")
        }
        let valid: Bool
        do {
            valid = try Groth16.verify(key, publicInputs: signals, proof: proof)
        } catch {
            throw APIError.invalidRequest("\(error)")
        }
        return json(
            .object([
                ("success", .bool(true)), ("valid", .bool(valid)),
                (
                    "reason",
                    .string(
                        valid
                            ? "the pairing check holds"
                            : "the pairing check fails: the proof does not prove these public signals under this key")
                ),
                ("request_id", .string(context.requestID)),
            ]))
    }

    @Sendable func clusterStatus(_ request: Request, context: GatewayContext) async throws -> Response {
        let status = try await cluster { try await jobs.clusterStatus() }
        let members = status.members.map { member -> OrderedJSON in
            .object([
                ("node_id", .integer(Int64(member.nodeID))), ("raft_address", .string(member.raftAddress)),
                ("grpc_address", .string(member.grpcAddress)), ("role", .string(member.role)),
                ("term", .integer(Int64(member.term))), ("commit_index", .integer(Int64(member.commitIndex))),
                ("applied_index", .integer(Int64(member.appliedIndex))), ("lag", .integer(Int64(member.lag))),
            ])
        }
        let workers = status.workers.map { worker -> OrderedJSON in
            .object([
                ("id", .string(worker.id)), ("address", .string(worker.address)), ("health", .string(worker.health)),
                ("capacity", .integer(Int64(worker.capacity))), ("active_jobs", .integer(Int64(worker.activeJobs))),
                ("capabilities", .array(worker.capabilities.map { .string($0) })),
                ("last_heartbeat", .string(Self.rfc3339(worker.lastHeartbeatMs))),
            ])
        }
        let jobCounts = status.jobs.keys.sorted().map { ($0, OrderedJSON.integer(Int64(status.jobs[$0] ?? 0))) }
        return json(
            .object([
                ("success", .bool(true)), ("leader_id", .integer(Int64(status.leaderID))),
                ("leader_grpc_address", .string(status.leaderGrpcAddress)), ("term", .integer(Int64(status.term))),
                ("members", .array(members)), ("workers", .array(workers)), ("jobs", .object(jobCounts)),
                ("database", .string(status.database)), ("projection_lag", .integer(Int64(status.projectionLag))),
                ("request_id", .string(context.requestID)),
            ]))
    }

    // MARK: Helpers

    static func circuitID(_ context: GatewayContext) throws(APIError) -> String {
        let id = context.parameters.get("id") ?? ""
        guard (1...128).contains(id.utf8.count) else { throw .invalidRequest("the circuit id must be 1–128 bytes") }
        return id
    }

    func verifyingKey(circuit: String) async throws -> VerifyingKey {
        let answer = try await cluster { try await jobs.verificationKey(circuit) }
        do {
            return try VerifyingKey(
                snarkjs: JSONDecoder().decode(SnarkjsVerificationKey.self, from: answer.snarkjsJson))
        } catch {
            throw APIError(
                .badGateway, code: "coordinator_error", "the verification key of \(circuit) cannot be read: \(error)")
        }
    }

    static func circuitJSON(_ circuit: Zkp_Circuit) -> OrderedJSON {
        let definition =
            circuit.family == "merkle" && !circuit.definition.isEmpty
            ? OrderedJSON.raw(String(decoding: circuit.definition, as: UTF8.self)) : .null
        return .object([
            ("id", .string(circuit.id)), ("family", .string(circuit.family)), ("status", .string(circuit.status)),
            ("definition", definition),
            ("r1cs_digest", circuit.family == "circom" ? .string(Self.r1csDigest(circuit.definition)) : .null),
            ("public_inputs", circuit.status == "ready" ? .integer(Int64(circuit.publicInputs)) : .null),
            ("setup_job_id", circuit.setupJobID.isEmpty ? .null : .string(circuit.setupJobID)),
            (
                "proving_key_digest",
                circuit.provingKeyDigest.isEmpty ? .null : .string(circuit.provingKeyDigest)
            ),
            (
                "verification_key_digest",
                circuit.verificationKeyDigest.isEmpty ? .null : .string(circuit.verificationKeyDigest)
            ),
            ("error", circuit.error.isEmpty ? .null : .string(circuit.error)),
            ("registered_at", .string(rfc3339(circuit.registeredAtMs))),
        ])
    }

    static func r1csDigest(_ definition: Data) -> String {
        struct Document: Decodable { var r1cs: String }
        return (try? JSONDecoder().decode(Document.self, from: definition).r1cs) ?? ""
    }
}
