import BN254
import Foundation

/// `zkp-bench [--filter TEXT | --name NAME] [--runs N] [--list]`, or `zkp-bench --r1cs FILE --wtns FILE [--runs N]`
/// for Groth16 on a circom circuit: measures and prints one JSON object per line.
@main
struct Bench {
    static func main() async {
        do {
            try await run(Options(CommandLine.arguments.dropFirst()))
        } catch {
            // A usage mistake or an unreadable circuit file: say so and exit 2, without a backtrace.
            FileHandle.standardError.write(Data("zkp-bench: \(error)\n".utf8))
            exit(2)
        }
    }

    static func run(_ options: Options) async throws {
        let context = Context(revision: gitRevision(), threads: ProcessInfo.processInfo.activeProcessorCount)
        if let r1cs = options.r1cs {
            guard let wtns = options.wtns else { throw BenchError.usage("--r1cs needs --wtns") }
            _ = try await Groth16Bench.run(r1csPath: r1cs, wtnsPath: wtns, runs: options.runs, context: context)
            return
        }
        let selected = BenchmarkCatalog.all.filter { benchmark in
            if let name = options.name { return benchmark.name == name }
            return options.filter.map { benchmark.name.contains($0) } ?? true
        }
        if let name = options.name, selected.isEmpty { throw BenchError.usage("no benchmark is named \(name)") }
        if options.list {
            for benchmark in selected { print(benchmark.name) }
            return
        }
        for benchmark in selected {
            let measurement = try await benchmark.run(context, options.runs)
            print(measurement.json())
        }
    }
}

struct Options {
    var filter: String?
    /// One benchmark by its exact name (a filter would also select longer names).
    var name: String?
    var runs: Int?
    var list = false
    var r1cs: String?
    var wtns: String?

    init(_ arguments: ArraySlice<String>) throws {
        var rest = arguments
        while let argument = rest.popFirst() {
            switch argument {
            case "--filter": filter = try Options.value(for: argument, &rest)
            case "--name": name = try Options.value(for: argument, &rest)
            case "--runs":
                guard let runs = Int(try Options.value(for: argument, &rest)), runs > 0 else {
                    throw BenchError.usage("--runs takes a positive whole number")
                }
                self.runs = runs
            case "--list": list = true
            case "--r1cs": r1cs = try Options.value(for: argument, &rest)
            case "--wtns": wtns = try Options.value(for: argument, &rest)
            default:
                throw BenchError.usage(
                    "unknown argument \(argument); use --filter TEXT, --name NAME, --runs N, --list, or --r1cs FILE --wtns FILE"
                )
            }
        }
    }

    static func value(for flag: String, _ rest: inout ArraySlice<String>) throws -> String {
        guard let value = rest.popFirst() else { throw BenchError.usage("\(flag) needs a value") }
        return value
    }
}

enum BenchError: Error, CustomStringConvertible {
    case usage(String)
    var description: String {
        switch self {
        case .usage(let message): return message
        }
    }
}

struct Context {
    let revision: String
    let threads: Int
}

/// The result of one benchmark: per-operation seconds over several runs.
struct Measurement {
    let name: String
    let parameters: [String: Int]
    let seconds: [Double]
    let threads: Int
    let revision: String

    func json() -> String {
        let sorted = seconds.sorted()
        let median =
            sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
        let object: [String: Any] = [
            "name": name, "parameters": parameters, "runs": seconds.count, "median_s": median,
            "min_s": sorted.first!, "max_s": sorted.last!, "threads": threads, "git_revision": revision,
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}

/// Times `operation` `runs` times; each run performs `batch` operations and yields seconds per operation.
func measure(runs: Int, batch: Int = 1, _ operation: () async -> Void) async -> [Double] {
    var results: [Double] = []
    let clock = ContinuousClock()
    await operation()  // warm-up: caches, lazy tables
    for _ in 0..<runs {
        let elapsed = await clock.measure { await operation() }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        results.append(seconds / Double(batch))
    }
    return results
}

/// Keeps a value alive so the optimiser cannot remove the work that produced it: the
/// function is opaque to the optimiser, so the value must really be computed.
@inline(never) @_optimize(none)
func consume<T>(_ value: T) {}

func gitRevision() -> String {
    if let revision = ProcessInfo.processInfo.environment["ZKP_GIT_REVISION"] { return revision }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "rev-parse", "--short=12", "HEAD"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return "unknown" }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let revision = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return process.terminationStatus == 0 && !revision.isEmpty ? revision : "unknown"
}
