import Foundation
import Imaging
import TestSupport
import Testing

/// `stockwerk tag` with the user's files: all or nothing, no planted temporaries written through,
/// attributes kept, links handled, and a kill at any moment leaves every file old or new.
@Suite struct TagSafetyTests {
    let binary = TestSupport.stockwerkBinary
    static let sample = TestSupport.sampleJPEG

    func copies(_ names: [String], in folder: String) throws -> [String] {
        try names.map { name in
            let path = folder + "/" + name
            try FileManager.default.copyItem(atPath: Self.sample, toPath: path)
            return path
        }
    }

    func bytes(_ path: String) -> Data { FileManager.default.contents(atPath: path) ?? Data() }

    // Reproduction 1: a symlink planted under a temporary name the tool might use is never written through.
    @Test func plantedTemporaryLinksAreNotWrittenThrough() throws {
        let folder = try TestSupport.temporaryFolder("tag-plant")
        let file = try copies(["a.jpg"], in: folder)[0]
        let victim = folder + "/victim.txt"
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: victim))
        // The names a pid-based scheme would use for the next few hundred processes.
        let now = Int(getpid())
        for pid in now..<(now + 400) {
            try FileManager.default.createSymbolicLink(atPath: folder + "/.a.tmp-\(pid).jpg", withDestinationPath: "victim.txt")
        }
        let result = try TestSupport.run(binary, ["tag", file, "--title", "X"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(String(decoding: bytes(victim), as: UTF8.self) == "keep me")
        #expect(try TestSupport.exiftool(file)["XMP-dc:Title"] as? String == "X")
    }

    // Reproduction 5: one file that cannot be replaced means no file is changed.
    @Test func oneUnwritableFileChangesNone() throws {
        let folder = try TestSupport.temporaryFolder("tag-all")
        let files = try copies(["f1.jpg", "f2.jpg", "f3.jpg"], in: folder)
        let original = bytes(Self.sample)
        // Read-only by mode: refused before anything is written.
        chmod(files[1], 0o444)
        var result = try TestSupport.run(binary, ["tag"] + files + ["--title", "X"])
        #expect(result.status == 2 && result.stderr.contains("f2.jpg") && result.stderr.contains("read-only"), "\(result.stderr)")
        #expect(files.allSatisfy { bytes($0) == original })
        chmod(files[1], 0o644)
        // Immutable and append-only files (root only): the first is refused up front, the second
        // passes every check and fails only when it is to be replaced, after f1 was prepared.
        if TestSupport.isRoot, try TestSupport.run("chattr", ["+i", files[1]]).status == 0 {
            result = try TestSupport.run(binary, ["tag"] + files + ["--title", "X"])
            _ = try TestSupport.run("chattr", ["-i", files[1]])
            #expect(result.status == 2 && result.stderr.contains("f2.jpg"), "\(result.stderr)")
            #expect(!result.stderr.contains("unchanged") || files.allSatisfy { bytes($0) == original })
            #expect(files.allSatisfy { bytes($0) == original })
            #expect(try TestSupport.run("chattr", ["+a", files[1]]).status == 0)
            result = try TestSupport.run(binary, ["tag"] + files + ["--title", "X"])
            _ = try TestSupport.run("chattr", ["-a", files[1]])
            #expect(result.status == 2 && result.stderr.contains("f2.jpg"), "\(result.stderr)")
            #expect(files.allSatisfy { bytes($0) == original })
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["f1.jpg", "f2.jpg", "f3.jpg"])
    }

    @Test func aFileNamedTwiceIsTaggedOnce() throws {
        let folder = try TestSupport.temporaryFolder("tag-twice")
        let file = try copies(["a.jpg"], in: folder)[0]
        let result = try TestSupport.run(binary, ["tag", file, file, folder + "/./a.jpg", "--title", "X"], currentDirectory: folder)
        #expect(result.status == 0 && !result.stderr.contains("No such file"), "\(result.stderr)")
        #expect(try TestSupport.exiftool(file)["XMP-dc:Title"] as? String == "X")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["a.jpg"])
    }

    // Found by the kill test: the title copied into EXIF ImageDescription came back as a description.
    @Test func taggingTwiceWithTheSameOptionsChangesNothing() throws {
        let folder = try TestSupport.temporaryFolder("tag-again")
        let file = try copies(["a.jpg"], in: folder)[0]
        #expect(try TestSupport.run(binary, ["tag", file, "--title", "Lake", "--keyword", "lake"]).status == 0)
        let once = bytes(file)
        #expect(try TestSupport.run(binary, ["tag", file, "--title", "Lake", "--keyword", "lake"]).status == 0)
        #expect(bytes(file) == once)
        #expect(try TestSupport.exiftool(file)["XMP-dc:Description"] == nil)
    }

    @Test func modeOwnerAndLinksAreKept() throws {
        let folder = try TestSupport.temporaryFolder("tag-attrs")
        let files = try copies(["private.jpg", "target.jpg", "linked.jpg"], in: folder)
        chmod(files[0], 0o600)
        if TestSupport.isRoot { chown(files[0], 1234, 5678) }
        try FileManager.default.createSymbolicLink(atPath: folder + "/alias.jpg", withDestinationPath: "target.jpg")
        var result = try TestSupport.run(binary, ["tag", files[0], folder + "/alias.jpg", "--title", "X"])
        #expect(result.status == 0, "\(result.stderr)")
        var info = stat()
        stat(files[0], &info)
        #expect(info.st_mode & 0o7777 == 0o600)
        if TestSupport.isRoot { #expect(info.st_uid == 1234 && info.st_gid == 5678) }
        // The symlink stays a symlink; the file it names is the one tagged.
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: folder + "/alias.jpg")) == "target.jpg")
        #expect(try TestSupport.exiftool(files[1])["XMP-dc:Title"] as? String == "X")
        // A hard-linked file is refused, both names unchanged.
        link(files[2], folder + "/hard.jpg")
        result = try TestSupport.run(binary, ["tag", files[2], "--title", "X"])
        #expect(result.status == 2 && result.stderr.contains("hard link"), "\(result.stderr)")
        #expect(bytes(files[2]) == bytes(Self.sample))
    }

    /// A killed run leaves a hard-link backup of a file it was about to replace: the next run
    /// removes it before checking links, instead of refusing the file as hard-linked.
    @Test func aKilledRunsBackupLinkDoesNotBlockTheNextRun() throws {
        let folder = try TestSupport.temporaryFolder("tag-backup")
        let file = try copies(["f.jpg"], in: folder)[0]
        let finished = Process()
        finished.executableURL = URL(fileURLWithPath: "/bin/true")
        try finished.run()
        finished.waitUntilExit()
        let backup = folder + "/.f.tmp-\(finished.processIdentifier)-1a2b-old.jpg"
        #expect(link(file, backup) == 0)
        let result = try TestSupport.run(binary, ["tag", file, "--title", "After a crash"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["f.jpg"])
        #expect(try TestSupport.exiftool(file)["XMP-dc:Title"] as? String == "After a crash")
    }

    /// A process's state letter from /proc (R, S, Z…), nil when it is gone.
    static func state(of pid: pid_t) -> Character? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = stat.lastIndex(of: ")") else { return nil }
        return stat[stat.index(after: close)...].split(separator: " ").first?.first
    }

    // Reproduction 5: kill -9 at random moments while 60 files are committed, then a rerun.
    @Test func killedAtAnyMomentLeavesEveryFileOldOrNew() throws {
        let folder = try TestSupport.temporaryFolder("tag-kill")
        let names = (0..<60).map { String(format: "f%02d.jpg", $0) }
        // The new version of the file, once, to compare each file with.
        let reference = try copies(["reference.jpg"], in: try TestSupport.temporaryFolder("tag-kill-ref"))[0]
        #expect(try TestSupport.run(binary, ["tag", reference, "--title", "Killed", "--keyword", "test"]).status == 0)
        let old = bytes(Self.sample), new = bytes(reference)
        #expect(old != new)
        for trial in 0..<24 {
            for name in names { try? FileManager.default.removeItem(atPath: folder + "/" + name) }
            let files = try copies(names, in: folder)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = ["tag", "--quiet", "--title", "Killed", "--keyword", "test"] + files
            process.standardError = FileHandle.nullDevice
            try process.run()
            usleep(UInt32.random(in: 20_000...400_000) + UInt32(trial) * 5_000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            // Foundation's waitUntilExit can return before the kernel has finished the killed
            // process; the test is about a writer that is gone, so wait until it is.
            let deadline = Date().addingTimeInterval(10)
            while kill(process.processIdentifier, 0) == 0, Self.state(of: process.processIdentifier) != "Z", Date() < deadline { usleep(1_000) }
            for file in files {
                let now = bytes(file)
                #expect(now == old || now == new, "trial \(trial): \(file) is neither old nor new (\(now.count) bytes)")
            }
            // The next run finishes the job and removes what the killed one left.
            let rerun = try TestSupport.run(binary, ["tag", "--quiet", "--title", "Killed", "--keyword", "test"] + files)
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(files.allSatisfy { bytes($0) == new })
            let left = try FileManager.default.contentsOfDirectory(atPath: folder).filter { !names.contains($0) }
            #expect(left.isEmpty, "trial \(trial): left behind \(left)")
        }
    }
}
