import Foundation
import TestSupport
import Testing

/// The SPIR-V in Sources/CVulkan/spirv.c is what the committed shaders compile to: compiling them
/// again (Tools/shaders/build-spirv.sh, glslc from Tools/install-deps.sh) gives the same file.
@Suite struct VulkanShaderTests {
    @Test func spirvIsCurrent() throws {
        let root = TestSupport.repositoryRoot
        let fresh = try TestSupport.temporaryFolder("spirv") + "/spirv.c"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: root + "/Tools/shaders/build-spirv.sh")
        process.arguments = [fresh]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = Pipe()
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "build-spirv.sh failed (is glslc installed? Tools/install-deps.sh): \(message)")
        let committed = try String(contentsOfFile: root + "/Sources/CVulkan/spirv.c", encoding: .utf8)
        let compiled = try String(contentsOfFile: fresh, encoding: .utf8)
        #expect(compiled == committed, "Sources/CVulkan/spirv.c is stale: run Tools/shaders/build-spirv.sh and commit it")
    }
}
