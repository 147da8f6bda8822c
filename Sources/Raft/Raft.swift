// The Raft consensus algorithm as a pure, deterministic state machine: messages
// and ticks in; messages to send, entries and hard state to persist, committed
// entries and snapshots out.
//
// Knows nothing of clocks, sockets, files or tasks; `RaftNode` drives it.
