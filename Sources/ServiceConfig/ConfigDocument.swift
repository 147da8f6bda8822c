import Foundation
import Yams

/// A configuration problem, naming the key and what is wrong with it.
public struct ConfigError: Error, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A YAML configuration file read the way the original's were, with what they lacked:
/// values may contain `${VAR}` (or `${VAR:-default}`) taken from the environment; any
/// key can be overridden by `PREFIX_` + its path in capitals with dots as underscores
/// (`COORDINATOR_COORDINATOR_RAFT_NODE_ID`); and every key in the file must be read by
/// the program, so a misspelt or unsupported key is an error rather than silently ignored.
public final class ConfigDocument {
    /// Scalars by dotted path; lists of mappings by path.
    private var scalars: [String: String] = [:]
    private var lists: [String: [[String: String]]] = [:]
    private var read: Set<String> = []
    private let environment: [String: String]
    private let prefix: String
    /// Where the document came from, for messages.
    public let source: String

    public init(yaml: String, source: String, environmentPrefix prefix: String, environment: [String: String])
        throws(ConfigError)
    {
        self.environment = environment
        self.prefix = prefix
        self.source = source
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError("\(source) is not valid YAML: \(error)")
        }
        guard let root else { return }
        guard case .mapping = root else { throw ConfigError("\(source): the top level must be a mapping of keys") }
        try flatten(root, path: "")
    }

    /// Reads a file; a missing file is an error that names it.
    public convenience init(contentsOf path: String, environmentPrefix: String, environment: [String: String])
        throws(ConfigError)
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError("cannot read the configuration file \(path)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigError("\(path) is not UTF-8 text") }
        try self.init(yaml: text, source: path, environmentPrefix: environmentPrefix, environment: environment)
    }

    private func flatten(_ node: Node, path: String) throws(ConfigError) {
        switch node {
        case .mapping(let mapping):
            for (keyNode, value) in mapping {
                guard let key = keyNode.scalar?.string, !key.isEmpty else {
                    throw ConfigError(
                        "\(source): a key under \(path.isEmpty ? "the top level" : path) is not a plain name")
                }
                try flatten(value, path: path.isEmpty ? key : "\(path).\(key)")
            }
        case .scalar(let scalar):
            scalars[path] = try interpolate(scalar.string, key: path)
        case .sequence(let sequence):
            var items: [[String: String]] = []
            for (index, item) in sequence.enumerated() {
                switch item {
                case .mapping(let mapping):
                    var fields: [String: String] = [:]
                    for (keyNode, value) in mapping {
                        guard let key = keyNode.scalar?.string, let text = value.scalar?.string else {
                            throw ConfigError("\(source): \(path)[\(index)] must map names to plain values")
                        }
                        fields[key] = try interpolate(text, key: "\(path)[\(index)].\(key)")
                    }
                    items.append(fields)
                case .scalar(let scalar):
                    items.append(["": try interpolate(scalar.string, key: "\(path)[\(index)]")])
                default:
                    throw ConfigError("\(source): \(path)[\(index)] must be a value or a mapping")
                }
            }
            lists[path] = items
        case .alias:
            throw ConfigError("\(source): \(path) uses a YAML alias, which is not supported")
        }
    }

    /// Replaces `${NAME}` and `${NAME:-default}` with the environment's values.
    private func interpolate(_ text: String, key: String) throws(ConfigError) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let start = rest.range(of: "${") {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw ConfigError("\(source): \(key) has an unclosed ${ in \"\(text)\"")
            }
            let body = rest[start.upperBound..<end]
            let parts = body.split(separator: ":-", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError("\(source): \(key) names an invalid variable \"${\(body)}\"")
            }
            if let value = environment[name] {
                result += value
            } else if parts.count == 2 {
                result += parts[1]
            } else {
                throw ConfigError("\(source): \(key) uses ${\(name)}, which is not set in the environment")
            }
            rest = rest[rest.index(after: end)...]
        }
        return result + rest
    }

    /// The environment variable that overrides `key`.
    public func environmentName(of key: String) -> String {
        "\(prefix)_" + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    /// The raw text of a key (the environment's override first), marking it read.
    public func text(_ key: String) -> String? {
        read.insert(key)
        if let override = environment[environmentName(of: key)] { return override }
        return scalars[key]
    }

    public func string(_ key: String, default fallback: String) -> String { text(key) ?? fallback }

    public func optionalString(_ key: String) -> String? { text(key) }

    public func integer(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let text = text(key) else { return fallback }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigError("\(key): \"\(text)\" is not a whole number")
        }
        guard range.contains(value) else {
            throw ConfigError("\(key): \(value) is outside \(range.lowerBound)…\(range.upperBound)")
        }
        return value
    }

    public func bool(_ key: String, default fallback: Bool) throws(ConfigError) -> Bool {
        guard let text = text(key) else { return fallback }
        switch text.lowercased() {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError("\(key): \"\(text)\" is not true or false")
        }
    }

    /// A Go-style duration: `500ms`, `30s`, `5m`, `1h`, or combinations (`1m30s`).
    public func duration(_ key: String, default fallback: Duration, minimum: Duration = .zero) throws(ConfigError)
        -> Duration
    {
        guard let text = text(key) else { return fallback }
        guard let value = Self.parseDuration(text) else {
            throw ConfigError("\(key): \"\(text)\" is not a duration such as 500ms, 30s, 5m or 1h")
        }
        guard value >= minimum else { throw ConfigError("\(key): \(text) is below the minimum \(minimum)") }
        return value
    }

    static func parseDuration(_ text: String) -> Duration? {
        var rest = Substring(text.trimmingCharacters(in: .whitespaces))
        guard !rest.isEmpty else { return nil }
        var total = Duration.zero
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isNumber || $0 == "." }
            guard !digits.isEmpty, let number = Double(digits) else { return nil }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isLetter || $0 == "µ" }
            rest = rest.dropFirst(unit.count)
            let seconds: Double
            switch unit {
            case "ns": seconds = number / 1e9
            case "us", "µs": seconds = number / 1e6
            case "ms": seconds = number / 1e3
            case "s": seconds = number
            case "m": seconds = number * 60
            case "h": seconds = number * 3600
            default: return nil
            }
            total += .nanoseconds(Int64((seconds * 1e9).rounded()))
        }
        return total
    }

    /// A list of mappings (`raft.peers`), marking it read. Lists cannot come from the
    /// environment.
    public func list(_ key: String) -> [[String: String]] {
        read.insert(key)
        return lists[key] ?? []
    }

    /// Whether the document sets anything under `section` (a key or a deeper key).
    public func has(_ section: String) -> Bool {
        (Array(scalars.keys) + Array(lists.keys)).contains { $0 == section || $0.hasPrefix(section + ".") }
    }

    /// Refuses a section the original had that this system does not use, with the reason.
    public func refuse(_ section: String, because reason: String) throws(ConfigError) {
        guard has(section) else { return }
        throw ConfigError("\(source): \(section): \(reason)")
    }

    /// Fails on any key in the file that was never read: misspelt or unsupported.
    public func checkEveryKeyRead() throws(ConfigError) {
        let unread = (Array(scalars.keys) + Array(lists.keys)).filter { !read.contains($0) }.sorted()
        guard unread.isEmpty else {
            throw ConfigError("\(source): unknown key\(unread.count == 1 ? "" : "s") \(unread.joined(separator: ", "))")
        }
    }
}
