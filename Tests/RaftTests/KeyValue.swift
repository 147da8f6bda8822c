@testable import Raft

/// The replicated key-value state machine of the simulations: put and compare-and-set
/// commands, reads through ReadIndex.
enum KeyValueCommand: Equatable {
    case put(key: String, value: String)
    case compareAndSet(key: String, expected: String?, new: String)

    var encoded: [UInt8] {
        switch self {
        case .put(let key, let value): Array("put\u{0}\(key)\u{0}\(value)".utf8)
        case .compareAndSet(let key, let expected, let new):
            Array("cas\u{0}\(key)\u{0}\(expected.map { "=" + $0 } ?? "-")\u{0}\(new)".utf8)
        }
    }

    init?(encoded: [UInt8]) {
        let parts = String(decoding: encoded, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false)
            .map(String.init)
        switch (parts.first, parts.count) {
        case ("put", 3): self = .put(key: parts[1], value: parts[2])
        case ("cas", 4):
            let expected = parts[2] == "-" ? nil : String(parts[2].dropFirst())
            self = .compareAndSet(key: parts[1], expected: expected, new: parts[3])
        default: return nil
        }
    }
}

struct KeyValueStore: Equatable {
    var values: [String: String] = [:]

    /// Applies a command; returns whether it took effect (a failed compare-and-set does not).
    mutating func apply(_ command: KeyValueCommand) -> Bool {
        switch command {
        case .put(let key, let value):
            values[key] = value
            return true
        case .compareAndSet(let key, let expected, let new):
            guard values[key] == expected else { return false }
            values[key] = new
            return true
        }
    }

    /// A snapshot image: sorted "key\0value\0" pairs.
    var encoded: [UInt8] {
        Array(values.sorted { $0.key < $1.key }.map { "\($0.key)\u{0}\($0.value)\u{0}" }.joined().utf8)
    }

    init() {}

    init(encoded: [UInt8]) {
        let parts = String(decoding: encoded, as: UTF8.self).split(separator: "\u{0}").map(String.init)
        var index = 0
        while index + 1 < parts.count {
            values[parts[index]] = parts[index + 1]
            index += 2
        }
    }
}
