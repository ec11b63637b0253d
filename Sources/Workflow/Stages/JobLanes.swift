import Foundation

/// Runs jobs through their stages in two lanes. Engine stages (diffusion, learned upscaling) use
/// every core, so they run on the calling thread, one job at a time, in job order. As soon as a job's
/// engine stages are done, its light stages (finish, describe, tag, check) run on a worker thread,
/// at most `lightJobs` jobs at once, while the next job's engine stages start. With `lightJobs` 1,
/// everything runs on the calling thread, one job after another.
///
/// Each job's state is touched by one thread at a time (handed from the engine lane to a worker);
/// what the threads share is locked: the results here, the cache's counters and report, the
/// describe stage's model. A kill at any moment leaves every stage recorded or not, as before.
final class JobLanes: @unchecked Sendable {
    private let engineStages: [any Stage]
    private let lightStages: [any Stage]
    private let cache: StageCache
    private let lightJobs: Int
    private let freeWorkers: DispatchSemaphore
    private let running = DispatchGroup()
    private let lock = NSLock()
    private var results: [Int: Result<JobState, Error>] = [:]

    /// `stages` in order (the Runner lists every engine stage before the light ones).
    init(stages: [any Stage], cache: StageCache, lightJobs: Int) {
        engineStages = stages.filter(\.usesEngine)
        lightStages = stages.filter { !$0.usesEngine }
        self.cache = cache
        self.lightJobs = max(1, lightJobs)
        freeWorkers = DispatchSemaphore(value: self.lightJobs)
    }

    /// Runs the job's engine stages now and its light stages as soon as a worker is free.
    func run(_ state: JobState) {
        var state = state
        do {
            for stage in engineStages { try cache.run(stage, &state) }
        } catch {
            return fail(state, error)
        }
        guard lightJobs > 1 else { return runLight(state) }
        freeWorkers.wait()
        running.enter()
        DispatchQueue.global(qos: .userInitiated).async { [self, state] in
            defer { freeWorkers.signal(); running.leave() }
            runLight(state)
        }
    }

    /// A job that failed before its stages could start.
    func fail(_ state: JobState, _ error: Error) {
        store(state.index, .failure(error))
    }

    /// Waits for every job; the result of each, by its index.
    func results(count: Int) -> [Result<JobState, Error>] {
        running.wait()
        return lock.withLock {
            (0..<count).map { results[$0] ?? .failure(StageFailure(job: "#\($0 + 1)", stage: "run", message: "the job was never run",
                                                                    hint: "this is a bug in Stockwerk; please report it")) }
        }
    }

    private func runLight(_ state: JobState) {
        var state = state
        do {
            for stage in lightStages { try cache.run(stage, &state) }
            store(state.index, .success(state))
        } catch {
            store(state.index, .failure(error))
        }
    }

    private func store(_ index: Int, _ result: Result<JobState, Error>) {
        lock.withLock { results[index] = result }
    }
}
