/// A JSON value, for requests to and answers from the peer drivers, whose cases mix
/// strings, arrays, objects, booleans and nulls.
public indirect enum JSONValue: Codable, Equatable, Sendable, CustomStringConvertible {
    case string(String)
    case bool(Bool)
    case array([JSONValue])
    case object([String: JSONValue])
    case null

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .string(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        case .null: try container.encodeNil()
        }
    }

    public var description: String {
        switch self {
        case .string(let value): return "\"\(value)\""
        case .bool(let value): return String(value)
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .object(let values):
            return "{" + values.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
                + "}"
        case .null: return "null"
        }
    }
}

/// One request to a peer driver: an operation and its cases.
public struct PeerRequest: Encodable, Sendable {
    public let op: String
    public let cases: [JSONValue]
    public init(op: String, cases: [JSONValue]) {
        self.op = op
        self.cases = cases
    }
}

/// A peer driver's answer: one result per case.
public struct PeerAnswer: Decodable, Sendable {
    public let results: [JSONValue]
}
