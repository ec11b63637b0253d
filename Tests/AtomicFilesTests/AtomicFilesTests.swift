import Foundation
import TestSupport
import Testing
@testable import AtomicFiles

/// Temporaries that cannot be planted, leftovers removed only when their writer is gone, and
/// batches that change every file or none.
@Suite struct AtomicFilesTests {
    func folder() throws -> String { try TestSupport.temporaryFolder("atomic") }

    @Test func temporariesAreFreshAndRecognised() throws {
        let dir = try folder()
        var names = Set<String>()
        for _ in 0..<50 {
            let (fd, path) = try AtomicFile.createTemporary(for: dir + "/a.jpg")
            close(fd)
            names.insert(path)
            let name = URL(fileURLWithPath: path).lastPathComponent
            #expect(AtomicFile.isTemporary(name) && name.hasSuffix(".jpg") && AtomicFile.writerPID(ofTemporary: name) == getpid())
        }
        #expect(names.count == 50)
        #expect(!AtomicFile.isTemporary("a.jpg") && !AtomicFile.isTemporary(".a.tmp-notapid.jpg") && !AtomicFile.isTemporary("holiday.tmp-1-2.jpg"))
    }

    @Test func leftoversOfLiveWritersAreKept() throws {
        let dir = try folder()
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let dead = ".a.tmp-\(finished.processIdentifier)-1f2e.jpg", live = ".b.tmp-\(getppid())-3c4d.jpg", mine = ".c.tmp-\(getpid())-5e6f.jpg"
        for name in [dead, live, mine, "keep.jpg"] { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8)) }
        #expect(AtomicFile.removeLeftovers(in: dir) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == [live, mine, "keep.jpg"].sorted())
    }

    /// A writer's PID taken by a later process (PIDs wrap at 32768 here) does not keep the dead
    /// writer's temporaries: names carry the writer's start time, which the newcomer does not share.
    @Test func aReusedPIDDoesNotKeepADeadWritersLeftovers() throws {
        let dir = try folder()
        let (fd, path) = try AtomicFile.createTemporary(for: dir + "/a.jpg")
        close(fd)
        let mine = URL(fileURLWithPath: path).lastPathComponent
        let start = try #require(AtomicFile.startTime(of: getpid()))
        #expect(mine.contains("t\(start)") && AtomicFile.writerIsRunning(ofTemporary: mine))
        // Our parent is alive: its temporaries are kept; one with its PID but another start time
        // was made by an earlier process that had the same PID, and is removed.
        let parentStart = try #require(AtomicFile.startTime(of: getppid()))
        let parents = ".c.tmp-\(getppid())-3c4dt\(parentStart).jpg", stale = ".d.tmp-\(getppid())-5e6ft\(parentStart - 1)-old.jpg"
        for name in [parents, stale] { FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8)) }
        #expect(AtomicFile.writerIsRunning(ofTemporary: parents) && !AtomicFile.writerIsRunning(ofTemporary: stale))
        #expect(AtomicFile.removeLeftovers(in: dir) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == [mine, parents].sorted())
    }

    /// A writer killed but not yet reaped by its parent (a zombie: its PID and start time still
    /// in /proc) runs no more; its temporaries are removed.
    @Test func anUnreapedKilledWriterIsNotRunning() throws {
        let dir = try folder()
        var child: pid_t = 0
        let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("60"), nil]
        defer { arguments.forEach { free($0) } }
        #expect(posix_spawn(&child, "/bin/sleep", nil, nil, arguments, environ) == 0)
        let start = try #require(AtomicFile.startTime(of: child))
        let name = ".e.tmp-\(child)-7a8bt\(start).jpg"
        FileManager.default.createFile(atPath: dir + "/" + name, contents: Data("x".utf8))
        #expect(AtomicFile.writerIsRunning(ofTemporary: name))
        kill(child, SIGKILL)
        // Not reaped yet: wait (without reaping) until the kernel has made it a zombie.
        var info = siginfo_t()
        waitid(P_PID, id_t(child), &info, WEXITED | WNOWAIT)
        #expect(AtomicFile.processStatus(child)?.state == "Z")
        #expect(!AtomicFile.writerIsRunning(ofTemporary: name))
        #expect(AtomicFile.removeLeftovers(in: dir) == 1)
        var status: Int32 = 0
        waitpid(child, &status, 0)
    }

    @Test func aBatchThatCannotReplaceEveryFileReplacesNone() throws {
        let dir = try folder()
        let first = dir + "/1.txt", blocked = dir + "/2.txt", third = dir + "/3.txt"
        try Data("old 1".utf8).write(to: URL(fileURLWithPath: first))
        try FileManager.default.createDirectory(atPath: blocked, withIntermediateDirectories: true)  // cannot be replaced by a file
        try Data("old 3".utf8).write(to: URL(fileURLWithPath: third))
        let batch = AtomicBatch()
        for path in [first, blocked, third] { try batch.add(path) { try AtomicBatch.write(Data("new".utf8), to: $0, path: path) } }
        #expect(throws: AtomicFile.WriteError.self) { try batch.commit() }
        batch.abandon()
        #expect(try String(contentsOfFile: first, encoding: .utf8) == "old 1" && (try String(contentsOfFile: third, encoding: .utf8)) == "old 3")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["1.txt", "2.txt", "3.txt"])
    }

    @Test func aReplacedFileKeepsItsModeAndOwner() throws {
        let dir = try folder()
        let path = dir + "/photo.jpg"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o640)
        if getuid() == 0 { chown(path, 4321, 8765) }
        var original = stat()
        stat(path, &original)
        let batch = AtomicBatch()
        try batch.add(path, keepingAttributesOf: original) { try AtomicBatch.write(Data("new".utf8), to: $0, path: path) }
        try batch.commit()
        var now = stat()
        stat(path, &now)
        #expect(now.st_mode & 0o7777 == 0o640 && now.st_uid == original.st_uid && now.st_gid == original.st_gid && now.st_ino != original.st_ino)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new")
    }
}
