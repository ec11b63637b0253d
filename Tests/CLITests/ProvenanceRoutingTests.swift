import Foundation
import TestSupport
import Testing

/// Files made by AI tools (each in its real format) and camera photos go through `stockwerk run`
/// and `stockwerk check`: both decide the same, every AI file is refused by the AI-banning agencies
/// with its evidence as the reason and reaches Adobe Stock labelled.
@Suite(.serialized) struct ProvenanceRoutingTests {
    let binary = TestSupport.stockwerkBinary
    static let fixtures = TestSupport.repositoryRoot + "/Tests/Fixtures/provenance"
    static let aiFiles = ["a1111.png", "a1111-itxt.png", "a1111-ztxt.png", "a1111.jpg", "comfyui.png", "invokeai.png", "invokeai-legacy.png",
                          "fooocus.png", "fooocus.jpg", "novelai.png", "drawthings.png", "iptc-ai-system.jpg", "iptc-dst.jpg",
                          "iptc-dst-composite.png", "c2pa-firefly.jpg", "c2pa-ai.png", "c2pa-edited.jpg"]
    static let photos = ["photo-camera.jpg", "photo-usercomment.jpg", "png-unrelated-text.png", "png-parameters-prose.png",
                         "iptc-dst-photo.jpg", "c2pa-photo.jpg"]
    static let banning = ["shutterstock", "getty-images", "alamy", "depositphotos", "pond5"]

    func agencyArguments() -> [String] { (["adobe-stock"] + Self.banning).flatMap { ["--agency", $0] } + ["--presets", TestSupport.presetsFolder] }

    func aiPolicyReason(_ verdict: [String: Any]) -> String? {
        (verdict["reasons"] as? [[String: Any]])?.first { $0["rule"] as? String == "ai_policy" }?["message"] as? String
    }

    @Test func runAndCheckRouteEveryFileByItsEvidence() throws {
        let folder = try TestSupport.temporaryFolder("provenance-routing")
        try FileManager.default.createDirectory(atPath: folder + "/in", withIntermediateDirectories: true)
        for name in Self.aiFiles + Self.photos { try FileManager.default.copyItem(atPath: Self.fixtures + "/" + name, toPath: folder + "/in/" + name) }
        // A sidecar that says "not AI" against the file's evidence loses, and the run says so.
        try "ai_generated: false\n".write(toFile: folder + "/in/comfyui.yaml", atomically: false, encoding: .utf8)
        // A camera photo declared AI (an AI edit of it): its camera EXIF must not survive.
        try FileManager.default.copyItem(atPath: Self.fixtures + "/photo-camera.jpg", toPath: folder + "/in/camera-ai.jpg")
        try "ai_generated: true\n".write(toFile: folder + "/in/camera-ai.yaml", atomically: false, encoding: .utf8)
        // The same camera facts as XMP (tiff:Make, exif:FNumber…, as the quickstart's cat photo has them).
        let samples = TestSupport.repositoryRoot + "/Workflows/samples"
        try FileManager.default.copyItem(atPath: samples + "/chelsea.png", toPath: folder + "/in/xmp-camera-ai.png")
        try "ai_generated: true\n".write(toFile: folder + "/in/xmp-camera-ai.yaml", atomically: false, encoding: .utf8)
        try FileManager.default.copyItem(atPath: samples + "/chelsea.png", toPath: folder + "/in/xmp-camera-photo.png")
        let yaml = """
            import: {files: "in/*"}
            finish: {long_edge: 64}
            metadata: {title: Red fox, description: A red fox in the snow., keywords: [fox, snow, forest, winter, animal, wildlife, red], creator: Test}
            agencies: [adobe-stock, \(Self.banning.joined(separator: ", "))]
            output: out
            """
        try yaml.write(toFile: folder + "/w.yaml", atomically: false, encoding: .utf8)
        let run = try TestSupport.run(binary, ["run", folder + "/w.yaml", "--presets", TestSupport.presetsFolder])
        #expect(run.status == 1, "\(run.stderr)")  // finished, with rejections
        let report = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: folder + "/out/report.json"))) as? [String: Any])
        let images = try #require(report["images"] as? [[String: Any]])
        #expect(images.count == Self.aiFiles.count + Self.photos.count + 3)

        let check = try TestSupport.run(binary, ["check"] + (Self.aiFiles + Self.photos).map { folder + "/in/" + $0 } + agencyArguments() + ["--json"])
        let checkVerdicts = try #require(try JSONSerialization.jsonObject(with: Data(check.stdout.utf8)) as? [[String: Any]])

        for name in Self.aiFiles + Self.photos {
            let isAI = Self.aiFiles.contains(name)
            let image = try #require(images.first { ($0["source"] as? String)?.hasSuffix("/in/" + name) == true }, "\(name)")
            #expect(image["aiGenerated"] as? Bool == isAI, "\(name)")
            let verdicts = image["verdicts"] as? [[String: Any]] ?? []
            for agency in Self.banning {
                let runVerdict = try #require(verdicts.first { $0["agency"] as? String == agency })
                let checkVerdict = try #require(checkVerdicts.first { $0["agency"] as? String == agency && ($0["file"] as? String)?.hasSuffix("/" + name) == true })
                // One decision: `run` and `check` agree, file by file, agency by agency.
                #expect((aiPolicyReason(runVerdict) != nil) == isAI, "run, \(name), \(agency)")
                #expect((aiPolicyReason(checkVerdict) != nil) == isAI, "check, \(name), \(agency)")
                if isAI {
                    // The evidence is the reason: where it was found, in words.
                    let reason = aiPolicyReason(runVerdict) ?? ""
                    #expect(reason.contains("AI evidence") && (reason.contains("PNG") || reason.contains("EXIF") || reason.contains("XMP") || reason.contains("C2PA")), "\(reason)")
                }
            }
            let adobe = try #require(verdicts.first { $0["agency"] as? String == "adobe-stock" })
            #expect(aiPolicyReason(adobe) == nil)

            // What Adobe Stock receives: labelled when AI, and agency-readable fields right on every output.
            let output = try #require(image["output"] as? String)
            let tags = try TestSupport.exiftool(output, ["-n"])
            #expect(tags["ExifIFD:ColorSpace"] as? Int == 1, "\(name): \(tags["ExifIFD:ColorSpace"] ?? "none")")
            #expect(tags["IFD0:XResolution"] as? Int == 300 && tags["IFD0:YResolution"] as? Int == 300, "\(name)")
            #expect(tags["JFIF:XResolution"] == nil || tags["JFIF:XResolution"] as? Int == 300, "\(name)")  // libvips writes no JFIF next to EXIF
            let sourceType = tags["XMP-iptcExt:DigitalSourceType"] as? String
            if isAI {
                #expect(sourceType?.hasSuffix("AlgorithmicMedia") == true, "\(name): \(sourceType ?? "none")")
                #expect((tags["XMP-iptcExt:AISystemUsed"] as? String)?.isEmpty == false || name.hasPrefix("iptc-dst"), "\(name)")
            } else {
                #expect(sourceType?.hasSuffix("AlgorithmicMedia") != true, "\(name)")
            }
        }

        let overruled = try #require(images.first { ($0["source"] as? String)?.hasSuffix("/comfyui.png") == true })
        #expect((overruled["warnings"] as? [String])?.contains { $0.contains("comfyui.yaml") && $0.contains("not AI-generated") && $0.contains("ComfyUI") } == true)
        let comfyTags = try TestSupport.exiftool(folder + "/out/images/comfyui.jpg")
        #expect(comfyTags["XMP-iptcExt:AIPromptInformation"] as? String == "a red fox in a snowy forest, golden hour")
        #expect(comfyTags["XMP-iptcExt:AISystemUsed"] as? String == "sd_xl_base_1.0.safetensors")

        // Camera EXIF: dropped from the AI output (and said so), kept on the photo.
        let cameraAI = try TestSupport.exiftool(folder + "/out/images/camera-ai.jpg")
        for tag in ["IFD0:Make", "IFD0:Model", "ExifIFD:ExposureTime", "ExifIFD:DateTimeOriginal", "GPS:GPSLatitude"] { #expect(cameraAI[tag] == nil, "\(tag)") }
        let cameraImage = try #require(images.first { ($0["source"] as? String)?.hasSuffix("/camera-ai.jpg") == true })
        #expect((cameraImage["warnings"] as? [String])?.contains { $0.contains("dropped camera fields") && $0.contains("Make") && $0.contains("GPS") } == true)
        let photo = try TestSupport.exiftool(folder + "/out/images/photo-camera.jpg")
        #expect(photo["IFD0:Make"] as? String == "Canon")
        let xmpCameraAI = try TestSupport.exiftool(folder + "/out/images/xmp-camera-ai.jpg")
        for tag in ["XMP-tiff:Make", "XMP-tiff:Model", "XMP-exif:FNumber", "XMP-exif:ExposureTime", "XMP-exif:ISO"] { #expect(xmpCameraAI[tag] == nil, "\(tag)") }
        let xmpImage = try #require(images.first { ($0["source"] as? String)?.hasSuffix("/xmp-camera-ai.png") == true })
        #expect((xmpImage["warnings"] as? [String])?.contains { $0.contains("dropped camera properties") && $0.contains("tiff:Make") } == true)
        let xmpPhoto = try TestSupport.exiftool(folder + "/out/images/xmp-camera-photo.jpg")
        #expect((xmpPhoto["XMP-tiff:Make"] as? String)?.hasPrefix("PENTAX Corporation") == true && xmpPhoto["XMP-exif:FNumber"] != nil)  // kept as the sample has it
    }

    /// `tag` and `keyword` share the decision: an A1111 JPEG leaves `tag` labelled, and `keyword`
    /// describes a ComfyUI PNG from its embedded prompt.
    @Test func tagLabelsAndKeywordReadsTheEmbeddedPrompt() throws {
        let folder = try TestSupport.temporaryFolder("provenance-tag")
        let file = folder + "/a1111.jpg"
        try FileManager.default.copyItem(atPath: Self.fixtures + "/a1111.jpg", toPath: file)
        let tag = try TestSupport.run(binary, ["tag", file, "--title", "Red fox in the snow"])
        #expect(tag.status == 0, "\(tag.stderr)")
        #expect(tag.stderr.contains("labelled as AI-generated") && tag.stderr.contains("EXIF UserComment"))
        let tags = try TestSupport.exiftool(file)
        #expect((tags["XMP-iptcExt:DigitalSourceType"] as? String)?.hasSuffix("/trainedAlgorithmicMedia") == true)
        #expect(tags["XMP-iptcExt:AISystemUsed"] as? String == "v1-5-pruned-emaonly")
        #expect(tags["XMP-dc:Title"] as? String == "Red fox in the snow")

        let keyword = try TestSupport.run(binary, ["keyword", Self.fixtures + "/comfyui.png", "--json", "--presets", TestSupport.presetsFolder])
        #expect(keyword.status == 0, "\(keyword.stderr)")
        let outputs = try #require(try JSONSerialization.jsonObject(with: Data(keyword.stdout.utf8)) as? [[String: Any]])
        #expect((outputs.first?["title"] as? String)?.lowercased().contains("fox") == true)
        #expect((outputs.first?["keywords"] as? [String])?.contains("fox") == true)
    }
}
