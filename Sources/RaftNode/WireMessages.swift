import Foundation
import Raft
import Wire

/// Why a message from the network was refused before it reached the Raft core.
public struct WireMessageError: Error, Equatable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

// The message kinds share their numbers on both sides (raft.proto mirrors MessageKind).
extension Message {
    var wire: Raft_RaftMessage {
        var wire = Raft_RaftMessage()
        wire.kind = Raft_MessageKind(rawValue: Int(kind.rawValue)) ?? .UNRECOGNIZED(Int(kind.rawValue))
        wire.from = from
        wire.to = to
        wire.term = term
        wire.logTerm = logTerm
        wire.index = index
        wire.entries = entries.map(\.wire)
        wire.commit = commit
        wire.reject = reject
        wire.rejectHint = rejectHint
        wire.context = Data(context)
        return wire
    }

    /// Decodes a message addressed to `receiver`; snapshots travel in their own call.
    init(wire: Raft_RaftMessage, receiver: NodeID) throws(WireMessageError) {
        guard (0...255).contains(wire.kind.rawValue), let kind = MessageKind(rawValue: UInt8(wire.kind.rawValue)) else {
            throw WireMessageError("unknown message kind \(wire.kind.rawValue)")
        }
        guard wire.from != 0 else { throw WireMessageError("a \(kind) message without a sender") }
        guard wire.to == receiver else {
            throw WireMessageError("a \(kind) message for server \(wire.to) reached server \(receiver)")
        }
        self.init(kind: kind, from: wire.from, to: wire.to, term: wire.term)
        logTerm = wire.logTerm
        index = wire.index
        entries = try wire.entries.map { entry throws(WireMessageError) in try Entry(wire: entry) }
        commit = wire.commit
        reject = wire.reject
        rejectHint = wire.rejectHint
        context = Array(wire.context)
    }
}

extension Entry {
    var wire: Raft_Entry {
        var wire = Raft_Entry()
        wire.term = term
        wire.index = index
        wire.kind = kind == .command ? .command : .configuration
        wire.data = Data(data)
        return wire
    }

    init(wire: Raft_Entry) throws(WireMessageError) {
        let kind: EntryKind
        switch wire.kind {
        case .command: kind = .command
        case .configuration:
            guard Configuration(encoded: Array(wire.data)) != nil else {
                throw WireMessageError("configuration entry \(wire.index) does not decode")
            }
            kind = .configuration
        case .UNRECOGNIZED(let value): throw WireMessageError("entry \(wire.index) has unknown kind \(value)")
        }
        self.init(term: wire.term, index: wire.index, kind: kind, data: Array(wire.data))
    }
}

extension Configuration {
    var wire: Raft_Configuration {
        var wire = Raft_Configuration()
        wire.voters = voters.sorted()
        wire.learners = learners.sorted()
        return wire
    }

    init(wire: Raft_Configuration) throws(WireMessageError) {
        let voters = Set(wire.voters)
        let learners = Set(wire.learners)
        guard !voters.isEmpty else { throw WireMessageError("a snapshot configuration without voters") }
        guard voters.isDisjoint(with: learners), !voters.contains(0), !learners.contains(0) else {
            throw WireMessageError("a snapshot configuration with overlapping or zero server ids")
        }
        self.init(voters: voters, learners: learners)
    }
}

extension MessageKind {
    /// Kinds that answer a request: the transport hands them back on the call that
    /// carried the request when that call is still open.
    var isReply: Bool {
        switch self {
        case .appendResponse, .heartbeatResponse, .voteResponse, .preVoteResponse, .readIndexResponse: true
        default: false
        }
    }
}
