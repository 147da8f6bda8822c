import Logging
import Raft
import RaftNode
import Scheduler
import Storage
import Synchronization

/// How the SQL projection stands, for `/health` and `/metrics`.
public struct ProjectionStatus: Sendable, Equatable {
    public enum Database: String, Sendable {
        /// The last write or read succeeded.
        case up
        /// The last write failed; the writer is retrying with backoff.
        case down
        /// Nothing was tried yet (a follower only reads the projection on demand).
        case unknown
    }

    public var database: Database = .unknown
    /// The log index every stored row has reached.
    public var projectedIndex: UInt64 = 0
    /// Batches written, and failed attempts, since this coordinator started.
    public var batchesWritten = 0
    public var writeFailures = 0
    /// The last failure's message, while the database is down.
    public var lastError: String?
    /// Log entries applied but not yet in SQL.
    public func lag(behind appliedIndex: UInt64) -> UInt64 {
        appliedIndex > projectedIndex ? appliedIndex - projectedIndex : 0
    }

    /// When a follower last read the stored index.
    var lastFollowerCheck: ContinuousClock.Instant?
}

/// The leader's projection of committed state into SQL: while this node leads, it writes
/// every job, worker and circuit that changed since the stored index, in one transaction
/// per batch, then proposes `archive(upTo:)` so terminal jobs that SQL holds leave
/// memory. While the database is down it retries with backoff (capped), and the cluster
/// keeps working from the Raft log up to its live-job cap; when SQL returns, the next
/// batch carries everything that changed meanwhile.
public final class ProjectionWriter: Sendable {
    private let machine: SchedulerStateMachine
    private let consensus: any Consensus
    private let projection: JobProjection
    private let engine: CoordinatorEngine
    private let logger: Logger
    /// The most jobs one transaction writes; a longer backlog takes several batches.
    private let batchLimit: Int
    /// How long changes gather before a batch is written. A job makes three or four log
    /// entries in its first tens of milliseconds; a transaction for each would cost the
    /// leader and the database more than the scheduling itself, while SQL readers (lists,
    /// archived jobs) need the rows only once they settle.
    private let gathering: Duration
    private let shared = Mutex(ProjectionStatus())

    public init(
        engine: CoordinatorEngine, projection: JobProjection, consensus: any Consensus, batchLimit: Int = 2_000,
        gathering: Duration = .milliseconds(100), logger: Logger = Logger(label: "zkp.projection")
    ) {
        self.machine = engine.machine
        self.engine = engine
        self.consensus = consensus
        self.projection = projection
        self.batchLimit = batchLimit
        self.gathering = gathering
        self.logger = logger
    }

    public var status: ProjectionStatus { shared.withLock { $0 } }

    /// Projects while this node leads, until cancelled.
    public func run() async {
        var backoff = RetryBackoff(initial: .milliseconds(100), maximum: .seconds(5))
        while !Task.isCancelled {
            guard await consensus.status.role == .leader else {
                await idle()
                continue
            }
            do {
                try await projectWhileLeading(backoff: &backoff)
            } catch is CancellationError {
                return
            } catch {
                let message = "\(error)"
                let first = shared.withLock { status in
                    defer {
                        status.database = .down
                        status.writeFailures += 1
                        status.lastError = message
                    }
                    return status.database != .down
                }
                if first { logger.warning("SQL projection failed; retrying", metadata: ["error": "\(message)"]) }
                try? await Task.sleep(for: backoff.next())
            }
        }
    }

    /// Followers do not write; they read the stored index now and then, so their health
    /// reports the database and the projection as they are.
    private func idle() async {
        let due = shared.withLock { status in
            status.lastFollowerCheck.map { ContinuousClock.now - $0 >= .seconds(2) } ?? true
        }
        if due {
            let result: Result<UInt64, any Error>
            do {
                result = .success(try await projection.projectedIndex())
            } catch {
                result = .failure(error)
            }
            shared.withLock { status in
                status.lastFollowerCheck = ContinuousClock.now
                switch result {
                case .success(let index):
                    status.database = .up
                    status.projectedIndex = index
                    status.lastError = nil
                case .failure(let error):
                    status.database = .down
                    status.lastError = "\(error)"
                }
            }
        }
        try? await Task.sleep(for: .milliseconds(200))
    }

    private func projectWhileLeading(backoff: inout RetryBackoff) async throws {
        var stored = try await projection.projectedIndex()
        var written = try await storedWorkers()
        markUp(at: stored)
        backoff.reset()
        // Wake now and then to notice a lost leadership even when nothing commits.
        var changes = machine.changes(tick: .milliseconds(500)).makeAsyncIterator()
        while !Task.isCancelled, await consensus.status.role == .leader {
            let (batch, complete) = nextBatch(after: stored, written: written)
            if batch.index > stored {
                try await projection.write(batch)
                stored = batch.index
                for worker in batch.workers { written[worker.id] = worker }
                for removed in batch.removedWorkers { written[removed.id] = nil }
                shared.withLock { status in
                    status.batchesWritten += 1
                    status.projectedIndex = stored
                }
                markUp(at: stored)
                await archive(upTo: stored)
            }
            if complete {
                _ = await changes.next()
                try? await Task.sleep(for: gathering)
            }
        }
    }

    private func markUp(at index: UInt64) {
        let recovered = shared.withLock { status in
            defer {
                status.database = .up
                status.lastError = nil
                status.projectedIndex = index
            }
            return status.database == .down
        }
        if recovered { logger.info("SQL projection resumed", metadata: ["projected_index": "\(index)"]) }
    }

    /// The workers the projection holds as registered, so a leader knows whom to mark removed.
    private func storedWorkers() async throws -> [WorkerID: WorkerRecord] {
        var workers: [WorkerID: WorkerRecord] = [:]
        for (worker, removed) in try await projection.workers() where !removed { workers[worker.id] = worker }
        return workers
    }

    /// What changed after `stored`, as of the applied index; `complete` is false when the
    /// backlog was longer than one batch and the batch stops short of the applied index.
    private func nextBatch(after stored: UInt64, written: [WorkerID: WorkerRecord]) -> (
        batch: ProjectionBatch, complete: Bool
    ) {
        let limit = batchLimit
        return machine.read { state in
            var changed = state.jobs.values.filter { $0.updatedIndex > stored }
            var index = state.appliedIndex
            var complete = true
            if changed.count > limit {
                changed.sort { $0.updatedIndex < $1.updatedIndex }
                // Every change at or before the last included job's index is in the batch;
                // later changes of the jobs it holds are newer rows, which the fence allows.
                index = changed[limit - 1].updatedIndex
                changed = changed.filter { $0.updatedIndex <= index }
                complete = false
            }
            let workers = state.workers.values.filter { written[$0.id] != $0 }
            let removed = written.keys.filter { state.workers[$0] == nil }.map { (id: $0, at: state.clock) }
            let circuits = state.circuits.values.filter { $0.updatedIndex > stored }
            return (
                ProjectionBatch(
                    index: max(index, stored), jobs: changed, workers: workers, removedWorkers: removed,
                    circuits: circuits), complete
            )
        }
    }

    /// Lets terminal jobs that SQL now holds leave memory.
    private func archive(upTo index: UInt64) async {
        guard let oldest = machine.read({ $0.oldestTerminalIndex }), oldest <= index else { return }
        do throws(CoordinatorError) {
            try await engine.archive(upTo: index)
        } catch {
            logger.debug("Archive not committed", metadata: ["error": "\(error)"])
        }
    }
}
