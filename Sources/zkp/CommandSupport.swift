import ArgumentParser
import Circuits
import Foundation
import Groth16

/// Input the user gave that cannot be used: printed with its reason, exit status 2.
struct InputError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs `body`; an error other than an exit code is printed with its reason and ends the
/// process with status 2 (malformed input), so that status 1 keeps a single meaning
/// ("the proof is invalid") for scripts.
func exitingTwoOnError(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let exit as ExitCode {
        throw exit
    } catch {
        printError("\(error)")
        throw ExitCode(2)
    }
}

/// Reading and writing the files the subcommands take and make.
enum Files {
    static func read(_ path: String, what: String) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw InputError("\(what) \(path): no such file")
        }
        guard !isDirectory.boolValue else { throw InputError("\(what) \(path): is a directory") }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw InputError("\(what) \(path): cannot be read (\(error.localizedDescription))")
        }
    }

    static func readJSON<Value: Decodable>(_ type: Value.Type, from path: String, what: String) throws -> Value {
        try decodeJSON(type, from: read(path, what: what), named: "\(what) \(path)")
    }

    /// Decodes JSON, naming the input (`label`) and the field that is wrong when it fails.
    static func decodeJSON<Value: Decodable>(_ type: Value.Type, from data: Data, named label: String) throws -> Value {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw InputError("\(label): \(describe(error))")
        }
    }

    static func write(_ data: Data, to path: String, what: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try data.write(to: url, options: .atomic)
        } catch {
            throw InputError("cannot write \(what) to \(path): \(error.localizedDescription)")
        }
    }

    static func writeJSON(_ value: some Encodable, to path: String, what: String) throws {
        try write(try encodeJSON(value), to: path, what: what)
    }

    static func encodeJSON(_ value: some Encodable) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value) + Data("\n".utf8)
    }

    /// A decoding error as one line naming the field that is wrong.
    static func describe(_ error: DecodingError) -> String {
        func location(_ path: [any CodingKey]) -> String {
            path.isEmpty
                ? "the top level"
                : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                    .trimmingPrefix(".").description
        }
        switch error {
        case .keyNotFound(let key, let context):
            return "missing field \"\(key.stringValue)\" in \(location(context.codingPath))"
        case .typeMismatch(let type, let context):
            return "\(location(context.codingPath)) is not \(typeName(type))"
        case .valueNotFound(let type, let context):
            return "\(location(context.codingPath)) is null, expected \(typeName(type))"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not valid JSON" : "\(location(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is UInt64.Type: "an integer"
        case is [Any].Type: "an array"
        default: "the expected type (\(type))"
        }
    }
}

extension MerkleHash: ExpressibleByArgument {}

/// The built-in circuits by name, for the subcommands that take `--circuit`.
struct BuiltinCircuitOptions: ParsableArguments {
    @Option(help: "A built-in circuit instead of a circom file: merkle.")
    var circuit: String?

    @Option(help: "The Merkle circuit's hash: mimc (gnark's MiMC_BN254) or poseidon (circomlib's Poseidon(2)).")
    var hash: MerkleHash?

    @Option(help: "The Merkle circuit's depth, 0...\(MerkleCircuit.maximumDepth).")
    var depth: Int?

    var isGiven: Bool { circuit != nil }

    /// The named circuit with its parameters.
    func merkle() throws -> (circuit: Circuit, hash: MerkleHash, depth: Int) {
        guard let circuit else { throw InputError("no --circuit given") }
        guard circuit == "merkle" else {
            throw InputError("unknown circuit \"\(circuit)\"; the built-in one is merkle")
        }
        guard let hash else { throw InputError("--circuit merkle needs --hash mimc|poseidon") }
        guard let depth else { throw InputError("--circuit merkle needs --depth") }
        return (try MerkleCircuit.build(depth: depth, hash: hash), hash, depth)
    }
}

/// Threads for proving and setup: every core unless told otherwise.
struct ThreadOptions: ParsableArguments {
    @Option(help: "Threads to use (default: every core).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
    }
}
