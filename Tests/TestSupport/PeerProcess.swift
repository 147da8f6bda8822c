import Foundation

/// Errors from running a peer driver.
public enum PeerError: Error, CustomStringConvertible {
    case missingDependency(String)
    case failed(script: String, status: Int32, stderr: String)
    case malformedOutput(script: String, output: String)

    public var description: String {
        switch self {
        case .missingDependency(let what):
            return "\(what) is not available; run the suite through scripts/test, which provides it"
        case .failed(let script, let status, let stderr):
            return "peer driver \(script) exited with status \(status): \(stderr)"
        case .malformedOutput(let script, let output):
            return "peer driver \(script) printed something that is not the expected JSON: \(output.prefix(500))"
        }
    }
}

/// Runs a Python peer driver from `Tests/PeerDrivers/` in the peer venv.
///
/// A driver reads one JSON document on standard input and writes one JSON
/// document on standard output; anything on standard error is reported when it
/// fails. Input goes through a temporary file so that large requests and large
/// answers cannot deadlock on pipe buffers.
public enum PeerProcess {
    public static func run(_ script: String, input: Data, arguments: [String] = []) throws -> Data {
        guard let python = TestEnvironment.peerPython else {
            throw PeerError.missingDependency("the peer Python venv ($\(TestEnvironment.pythonVariable))")
        }
        let inputURL = FileManager.default.temporaryDirectory
            .appendingPathComponent("zkp-peer-\(UUID().uuidString).json")
        try input.write(to: inputURL)
        defer { try? FileManager.default.removeItem(at: inputURL) }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [TestEnvironment.peerDriver(script)] + arguments
        process.standardInput = try FileHandle(forReadingFrom: inputURL)
        let stdout = Pipe()
        let stderrURL = inputURL.appendingPathExtension("stderr")
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: stderrURL) }
        process.standardOutput = stdout
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let stderr = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
            throw PeerError.failed(script: script, status: process.terminationStatus, stderr: stderr)
        }
        return output
    }

    /// Runs a driver with a JSON-encodable request and decodes its JSON answer.
    public static func call<Request: Encodable, Response: Decodable>(
        _ script: String, _ request: Request, as: Response.Type = Response.self
    ) throws -> Response {
        let output = try run(script, input: JSONEncoder().encode(request))
        do {
            return try JSONDecoder().decode(Response.self, from: output)
        } catch {
            throw PeerError.malformedOutput(script: script, output: String(decoding: output, as: UTF8.self))
        }
    }
}
