import Foundation
import Raft
import RaftNode
import Scheduler
import Testing

@testable import Coordinator

/// A single voter needs no network: its messages go nowhere.
struct NoNetwork: RaftTransport {
    func send(_ messages: [Message]) {}
}

@Suite("Coordinator: the scheduler on Raft")
struct SchedulerStateMachineTests {
    static let t0 = Timestamp(milliseconds: 1_700_000_000_000)

    static func commands(jobs: Int) -> [SchedulerCommand] {
        var commands: [SchedulerCommand] = [
            .registerWorker(
                WorkerRegistration(id: WorkerID("w1"), address: "", capacity: 8, capabilities: ["merkle"], at: t0)),
            .registerCircuit(
                CircuitRegistration(id: CircuitID("m"), family: "merkle", definition: [1], setupJob: JobID("s"), at: t0)
            ),
        ]
        for n in 0..<jobs {
            commands.append(
                .submit(
                    JobSubmission(
                        id: JobID("job-\(n)"), circuit: CircuitID("m"), inputs: [UInt8(n & 255)],
                        idempotencyKey: "k\(n % 7)",
                        at: t0.adding(milliseconds: Int64(n)))))
        }
        return commands
    }

    func node(_ directory: String, machine: SchedulerStateMachine, bootstrap: Bool) throws -> RaftNode {
        try RaftNode(
            config: RaftConfig(id: 1, electionTicks: 10, heartbeatTicks: 2, seed: 7), directory: directory,
            stateMachine: machine, transport: NoNetwork(), bootstrap: bootstrap ? Configuration(voters: [1]) : nil,
            tickInterval: .milliseconds(5), snapshotEvery: 16, requestTimeout: .seconds(30))
    }

    @Test("commands proposed through Raft are applied, answered, and survive a restart from snapshot and log")
    func proposeAndRestart() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "zkp-sm-\(UInt64.random(in: 0...UInt64.max))"
        ).path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let machine = SchedulerStateMachine()
        let first = try node(directory, machine: machine, bootstrap: true)
        await first.start()
        await first.campaign()
        var outcomes: [SchedulerOutcome] = []
        for command in Self.commands(jobs: 40) {
            let (_, result) = try await first.propose(command.encoded)
            outcomes.append(try SchedulerOutcome(decoding: result))
        }
        // A proposal that is not a command is refused by the state machine, not by Raft.
        let (_, garbage) = try await first.propose([0xee, 1, 2])
        #expect(
            try SchedulerOutcome(decoding: garbage)
                == .rejected(.invalidCommand("malformed scheduler data: unknown command tag 238")))
        #expect(outcomes[0] == .applied && outcomes[1] == .applied)
        #expect(outcomes[2] == .submitted(JobID("job-0")))
        // Keys repeat every 7 jobs, within the 5-minute window: the 8th answers with the 1st.
        #expect(outcomes[9] == .duplicate(JobID("job-0")))
        let image = machine.snapshot()
        let applied = machine.appliedIndex
        #expect(machine.read { $0.jobs.count } == 8)
        await first.stop()

        let restoredMachine = SchedulerStateMachine()
        let second = try node(directory, machine: restoredMachine, bootstrap: false)
        await second.start()
        await second.campaign()
        // Once the new term's first entry is applied, everything before it is too.
        let (index, _) = try await second.propose(SchedulerCommand.archive(upTo: 0, at: Self.t0).encoded)
        #expect(index > applied)
        var expected = try SchedulerState(snapshot: image)
        expected.apply(.archive(upTo: 0, at: Self.t0), index: index)
        #expect(restoredMachine.snapshot() == expected.snapshot())
        await second.stop()
    }

    @Test("waiters wake when the applied index passes theirs, and not before")
    func waiters() async throws {
        let machine = SchedulerStateMachine()
        let command = SchedulerCommand.archive(upTo: 0, at: Self.t0).encoded
        _ = machine.apply(command, index: 1)
        #expect(await machine.waitForChange(after: 0) == 1)
        async let woken = machine.waitForChange(after: 2)
        try await Task.sleep(for: .milliseconds(20))
        _ = machine.apply(command, index: 2)
        _ = machine.apply(command, index: 3)
        #expect(await woken == 3)
    }
}

@Suite("Coordinator: waiting for the state")
struct WaitingTests {
    @Test("a cancelled wait returns at once with the current index")
    func cancelledWait() async {
        let machine = SchedulerStateMachine()
        let waiting = Task { await machine.waitForChange(after: 10) }
        try? await Task.sleep(for: .milliseconds(20))
        waiting.cancel()
        #expect(await waiting.value == 0)
        // Cancelled before it even waits.
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return await machine.waitForChange(after: 10)
        }
        #expect(await early.value == 0)
    }

    @Test("a change stream starts with the current index, folds changes made while its reader is busy, and ticks")
    func changeStream() async throws {
        let machine = SchedulerStateMachine()
        let command = SchedulerCommand.archive(upTo: 0, at: Timestamp(milliseconds: 1)).encoded
        _ = machine.apply(command, index: 1)
        // A tick far off: every element below comes from a change.
        var changes = machine.changes(tick: .seconds(3600)).makeAsyncIterator()
        #expect(await changes.next() == 1)
        _ = machine.apply(command, index: 2)
        _ = machine.apply(command, index: 3)
        #expect(await changes.next() == 3)
        async let next = changes.next()
        try await Task.sleep(for: .milliseconds(20))
        _ = machine.apply(command, index: 4)
        #expect(await next == 4)
        // With nothing applied, the tick alone still wakes the reader.
        var ticking = machine.changes(tick: .milliseconds(10)).makeAsyncIterator()
        #expect(await ticking.next() == 4)
        #expect(await ticking.next() == 4)
    }

    @Test("a change stream that ends stops its timer and is no longer told of changes")
    func changeStreamEnds() async throws {
        let machine = SchedulerStateMachine()
        let reader = Task {
            var seen = 0
            for await _ in machine.changes(tick: .milliseconds(5)) { seen += 1 }
            return seen
        }
        try await Task.sleep(for: .milliseconds(50))
        reader.cancel()
        #expect(await reader.value >= 1)
        try await eventually("the stream lets go of the machine") { machine.observerCount == 0 }
    }
}
