/// One client operation on one key of a register-per-key store, as the client saw it.
struct Operation: Equatable, CustomStringConvertible {
    enum Kind: Equatable {
        case put(String)
        /// Compare-and-set: expected value (nil: absent), new value.
        case compareAndSet(expected: String?, new: String)
        case get
    }

    enum Outcome: Equatable {
        /// put or compare-and-set acknowledged; for compare-and-set, whether it took effect.
        case done(Bool)
        /// get returned this value (nil: absent).
        case read(String?)
        /// The client never learned the outcome: the write may or may not have happened.
        case unknown
    }

    var client: Int
    var key: String
    var kind: Kind
    var call: Int
    /// nil while unknown: the operation may take effect at any time after `call`.
    var returned: Int?
    var outcome: Outcome

    var description: String { "c\(client) \(key) \(kind) [\(call), \(returned.map(String.init) ?? "∞")] → \(outcome)" }
}

/// Wing & Gong's search with memoisation (as in Lowe's and Porcupine's checkers), key by
/// key: registers on different keys are independent, so a history is linearizable iff
/// each key's sub-history is.
enum LinearizabilityChecker {
    enum Verdict: Equatable {
        case linearizable
        case notLinearizable
        /// The search met its budget first: histories with many writes of unknown outcome
        /// can take exponential time (the problem is NP-complete).
        case inconclusive
    }

    /// Search states explored per key before giving up.
    static let budget = 200_000

    static func check(_ history: [Operation]) -> Bool { verdict(history) == .linearizable }

    static func verdict(_ history: [Operation]) -> Verdict {
        var result = Verdict.linearizable
        for operations in Dictionary(grouping: history, by: \.key).values {
            switch checkKey(operations) {
            case .notLinearizable: return .notLinearizable
            case .inconclusive: result = .inconclusive
            case .linearizable: continue
            }
        }
        return result
    }

    private struct Memo: Hashable {
        let done: [UInt64]
        let value: String?
    }

    private static func checkKey(_ operations: [Operation]) -> Verdict {
        // Reads with unknown outcomes tell nothing; drop them.
        let ops = operations.filter { !($0.kind == .get && $0.outcome == .unknown) }.sorted { $0.call < $1.call }
        let count = ops.count
        var done = [UInt64](repeating: 0, count: (count + 63) / 64)
        var seen: Set<Memo> = []
        var exhausted = false
        let required = ops.indices.filter { ops[$0].outcome != .unknown }

        func isDone(_ i: Int) -> Bool { done[i / 64] & (1 << UInt64(i % 64)) != 0 }
        func flip(_ i: Int) { done[i / 64] ^= 1 << UInt64(i % 64) }

        func search(_ value: String?) -> Bool {
            if required.allSatisfy(isDone) { return true }
            guard seen.count < budget else {
                exhausted = true
                return false
            }
            guard seen.insert(Memo(done: done, value: value)).inserted else { return false }
            // An operation can go next only if it was called before every pending
            // operation returned.
            var deadline = Int.max
            for i in 0..<count where !isDone(i) { if let end = ops[i].returned { deadline = min(deadline, end) } }
            for i in 0..<count where !isDone(i) && ops[i].call <= deadline {
                let op = ops[i]
                var next = value
                switch (op.kind, op.outcome) {
                case (.get, .read(let seenValue)):
                    guard seenValue == value else { continue }
                case (.put(let new), _):
                    next = new
                case (.compareAndSet(let expected, let new), .done(let succeeded)):
                    guard (value == expected) == succeeded else { continue }
                    if succeeded { next = new }
                case (.compareAndSet(let expected, let new), .unknown):
                    if value == expected { next = new }
                default:
                    continue
                }
                flip(i)
                if search(next) { return true }
                flip(i)
                if exhausted { return false }
            }
            return false
        }
        if search(nil) { return .linearizable }
        return exhausted ? .inconclusive : .notLinearizable
    }
}
