import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An advisory lock (flock) on OUTPUT/.stockwerk/lock. The kernel drops it when the process ends,
/// however it ends, so a killed run never leaves the folder locked.
final class OutputLock {
    private var descriptor: Int32

    init(folder: String) throws {
        descriptor = open(folder + "/lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw StageFailure(job: "-", stage: "locking the output", message: "cannot create \(folder)/lock: \(String(cString: strerror(errno)))",
                               hint: "check the permissions of the output folder")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            descriptor = -1
            throw OutputBusyError(output: URL(fileURLWithPath: folder).deletingLastPathComponent().path)
        }
    }

    func release() {
        guard descriptor >= 0 else { return }
        flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    deinit { release() }
}
