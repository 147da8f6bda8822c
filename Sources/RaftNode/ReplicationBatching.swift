import Raft

/// How queued replication messages to one peer are packed into gRPC writes: a peer that
/// fell behind can have many appends of up to `RaftConfig.maxBytesPerMessage` queued, and
/// one write of them all would exceed gRPC's 4 MiB message limit and break the stream.
enum ReplicationBatching {
    /// Splits `messages`, in order, into groups of at most `maximumBytes` of entry data
    /// each (a larger message goes alone), one gRPC write per group.
    static func writes(_ messages: [Message], maximumBytes: Int) -> [[Message]] {
        var groups: [[Message]] = []
        var current: [Message] = []
        var currentBytes = 0
        for message in messages {
            let bytes = entryBytes(message)
            if !current.isEmpty && currentBytes + bytes > maximumBytes {
                groups.append(current)
                current = []
                currentBytes = 0
            }
            current.append(message)
            currentBytes += bytes
        }
        if !current.isEmpty { groups.append(current) }
        return groups
    }

    private static func entryBytes(_ message: Message) -> Int {
        message.entries.reduce(0) { $0 + $1.data.count + 32 }
    }
}
