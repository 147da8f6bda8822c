import Raft
import Synchronization

/// A replicated string map, the state machine of `zkp raft-demo` and of the node tests.
/// Commands: `put key value` (result "ok") and `delete key` (result "ok" or "absent");
/// reads go through `RaftNode.linearizableRead()` and then `value(for:)`.
public final class KeyValueStateMachine: ReplicatedStateMachine {
    private let values = Mutex<[String: String]>([:])

    public init() {}

    public static func put(_ key: String, _ value: String) -> [UInt8] { Array("put\u{0}\(key)\u{0}\(value)".utf8) }
    public static func delete(_ key: String) -> [UInt8] { Array("delete\u{0}\(key)".utf8) }

    public func value(for key: String) -> String? { values.withLock { $0[key] } }
    public var count: Int { values.withLock { $0.count } }

    public func apply(_ command: [UInt8], index: LogIndex) -> [UInt8] {
        let parts = String(decoding: command, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("put", 3):
            values.withLock { $0[String(parts[1])] = String(parts[2]) }
            return Array("ok".utf8)
        case ("delete", 2):
            let removed = values.withLock { $0.removeValue(forKey: String(parts[1])) }
            return Array((removed == nil ? "absent" : "ok").utf8)
        default:
            // Every server applies the same bytes, so an unknown command is rejected alike everywhere.
            return Array("error: unknown command".utf8)
        }
    }

    public func snapshot() -> [UInt8] {
        values.withLock { values in
            Array(values.sorted { $0.key < $1.key }.map { "\($0.key)\u{0}\($0.value)\u{0}" }.joined().utf8)
        }
    }

    public func restore(_ image: [UInt8]) {
        let parts = String(decoding: image, as: UTF8.self).split(separator: "\u{0}", omittingEmptySubsequences: false)
        var restored: [String: String] = [:]
        var index = 0
        while index + 1 < parts.count {
            restored[String(parts[index])] = String(parts[index + 1])
            index += 2
        }
        values.withLock { $0 = restored }
    }
}
