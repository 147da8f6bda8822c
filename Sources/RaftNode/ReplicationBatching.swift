import Raft

/// How queued replication messages to one peer are packed into gRPC writes: a peer that
/// fell behind can have many appends of up to `RaftConfig.maxBytesPerMessage` queued, and
/// one write of them all would exceed gRPC's 4 MiB message limit and break the stream.
enum ReplicationBatching {
    /// Splits `messages`, in order, into groups of at most `maximumBytes` of entry data
    /// each (a larger message goes alone), one gRPC write per group.
    static func writes(_ messages: [Message], maximumBytes: Int) -> [ArraySlice<Message>] {
        var groups: [ArraySlice<Message>] = []
        var start = messages.startIndex
        var bytes = 0
        for index in messages.indices {
            let size = entryBytes(messages[index])
            if index > start && bytes + size > maximumBytes {
                groups.append(messages[start..<index])
                start = index
                bytes = 0
            }
            bytes += size
        }
        if start < messages.endIndex { groups.append(messages[start...]) }
        return groups
    }

    private static func entryBytes(_ message: Message) -> Int {
        message.entries.reduce(0) { $0 + $1.data.count + 32 }
    }
}
