import Foundation
import CPUBackend
import Imaging
import Neural
import TestSupport
import Testing

/// `stockwerk generate` end to end on the tiny SD1 fixture: the latents it writes and the PNG
/// it saves equal diffusers' (build_fixtures.py pipelines, euler, guidance 7.5, seed 1004).
@Suite struct GenerateCommandTests {
    let binary = TestSupport.stockwerkBinary
    let model = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"

    @Test func writesTheImageAndLatentsDiffusersMakes() throws {
        let folder = try TestSupport.temporaryFolder("generate")
        let expected = try SafeTensorsFile(path: model + "/expected.safetensors")
        let result = try TestSupport.run(binary, [
            "generate", "--model", model, "--prompt", try #require(expected.metadata["prompt"]),
            "--negative", try #require(expected.metadata["negative_prompt"]), "--seed", "1004", "--steps", "5", "--guidance", "7.5",
            "--sampler", "euler", "--size", "16x16", "--output", folder + "/fox.png", "--latents-out", folder + "/fox.safetensors",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("step 5/5"))
        let latents = try SafeTensorsFile(path: folder + "/fox.safetensors").tensor("latents")
        let reference = try expected.tensor("txt2img.euler.7.5.latents")
        #expect(latents.shape == [1, 4, 8, 8])
        #expect(zip(latents.storage, reference.storage).map { abs($0 - $1) }.max()! <= 1e-3)
        let image = try RGBImage.read(folder + "/fox.png")
        let pixels = try expected.tensor("txt2img.euler.7.5.image")
        #expect(image.width == 16 && image.height == 16)
        var worst: Float = 0
        for i in 0..<(16 * 16) { for c in 0..<3 { worst = max(worst, abs(Float(image.pixels[i * 3 + c]) - pixels.storage[c * 256 + i] * 255)) } }
        #expect(worst <= 1, "PNG pixels differ from diffusers' by up to \(worst)/255")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder).sorted() == ["fox.png", "fox.safetensors"])
    }

    /// `--precision bf16` runs the bf16 engine and records it with the image (where the CPU has one).
    @Test func bf16IsRecordedInTheImage() throws {
        let folder = try TestSupport.temporaryFolder("generate-bf16")
        let result = try TestSupport.run(binary, ["generate", "--model", model, "--prompt", "a fox", "--seed", "3", "--steps", "2",
                                                  "--size", "16x16", "--sampler", "ddim", "--precision", "bf16", "--output", folder + "/fox.png"])
        guard CPUBackend.hasBF16MatrixProduct else {
            // An AVX2-only CPU: refused as bad input, saying what to use, and nothing written.
            #expect(result.status == 2 && result.stderr.contains("bf16") && result.stderr.contains("--precision fp32"), "\(result.stderr)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder).isEmpty)
            return
        }
        #expect(result.status == 0, "\(result.stderr)")
        let text = try RGBImage.pngText(folder + "/fox.png", key: "parameters") ?? ""
        #expect(text.contains("Precision: bf16"), "\(text)")
        let json = try RGBImage.pngText(folder + "/fox.png", key: "stockwerk") ?? ""
        #expect(json.contains("\"precision\":\"bf16\""), "\(json)")
    }

    @Test func badInputExitsTwoWithAReason() throws {
        let folder = try TestSupport.temporaryFolder("generate-bad")
        let output = folder + "/x.png"
        let pickle = folder + "/model.ckpt"
        try Data("not really".utf8).write(to: URL(fileURLWithPath: pickle))
        let cases: [([String], String)] = [
            (["--model", pickle], "pickle"),
            (["--model", folder + "/missing"], "no such file"),
            (["--model", folder], "model_index.json"),
            (["--model", model, "--sampler", "fast"], "unknown sampler"),
            (["--model", model, "--size", "15x16"], "multiples of"),
            (["--model", model, "--size", "big"], "WIDTHxHEIGHT"),
            (["--model", model, "--init-image", folder + "/none.png"], "none.png"),
            (["--model", model, "--precision", "fp16"], "--precision 'fp16' is not auto, fp32 or bf16"),
        ]
        for (arguments, message) in cases {
            let result = try TestSupport.run(binary, ["generate", "--prompt", "x", "--steps", "2", "--output", output] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("hint:"), "\(arguments)")
        }
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

/// `stockwerk models` says whether each model, the x2 upscaler included, is in the models folder.
@Suite struct ModelsCommandTests {
    @Test func listsTheUpscalerAndWhereItIs() throws {
        let models = try TestSupport.temporaryFolder("models-command")
        let missing = try TestSupport.run(TestSupport.stockwerkBinary, ["models", "--models-folder", models])
        #expect(missing.stdout.contains("--precision auto = ") && missing.stdout.contains("convolution 3x3"), "\(missing.stdout)")
        #expect(missing.status == 0 && missing.stdout.contains("sd-x2-latent-upscaler") && missing.stdout.contains("not on disk: get https://huggingface.co/stabilityai/sd-x2-latent-upscaler"),
                "\(missing.stdout)")
        try FileManager.default.createSymbolicLink(atPath: models + "/sd-x2-latent-upscaler",
                                                   withDestinationPath: TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-x2-upscaler")
        let found = try TestSupport.run(TestSupport.stockwerkBinary, ["models", "--models-folder", models])
        #expect(found.stdout.contains("on disk: \(models)/sd-x2-latent-upscaler"), "\(found.stdout)")
        // An SD folder under that name is on disk but not the upscaler.
        try FileManager.default.removeItem(atPath: models + "/sd-x2-latent-upscaler")
        try FileManager.default.createSymbolicLink(atPath: models + "/sd-x2-latent-upscaler",
                                                   withDestinationPath: TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1")
        let wrong = try TestSupport.run(TestSupport.stockwerkBinary, ["models", "--models-folder", models])
        #expect(wrong.stdout.contains("on disk but not usable") && wrong.stdout.contains("StableDiffusionLatentUpscalePipeline"), "\(wrong.stdout)")
    }
}

/// Parameters travel with the image, and `stockwerk rerun` makes the same pixels from them.
@Suite struct RerunCommandTests {
    let binary = TestSupport.stockwerkBinary
    let folderModel = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1"
    let singleFile = TestSupport.repositoryRoot + "/Tests/Fixtures/pipelines/tiny-sd1.safetensors"

    @Test func rerunMakesTheSamePixelsFromPNGAndJPEG() throws {
        let folder = try TestSupport.temporaryFolder("rerun")
        let common = ["--prompt", "a lighthouse, storm", "--negative", "blurry", "--seed", "77", "--steps", "4", "--guidance", "6",
                      "--sampler", "dpmpp-2m-karras", "--size", "16x16"]
        for output in ["first.png", "first.jpg"] {
            let made = try TestSupport.run(binary, ["generate", "--model", folderModel, "--output", folder + "/" + output] + common)
            #expect(made.status == 0, "\(made.stderr)")
        }
        let tags = try TestSupport.exiftool(folder + "/first.png")
        #expect((tags["PNG:Parameters"] as? String)?.hasPrefix("a lighthouse, storm\nNegative prompt: blurry\nSteps: 4, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 77") == true, "\(tags)")
        let jpegTags = try TestSupport.exiftool(folder + "/first.jpg")
        #expect((jpegTags["ExifIFD:UserComment"] as? String)?.contains("Seed: 77, Size: 16x16") == true)
        #expect(jpegTags["XMP-iptcExt:DigitalSourceType"] as? String == "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia")

        for source in ["first.png", "first.jpg"] {
            let again = try TestSupport.run(binary, ["rerun", folder + "/" + source, "--output", folder + "/again-\(source).png"])
            #expect(again.status == 0, "\(again.stderr)")
            #expect(try RGBImage.read(folder + "/again-\(source).png") == RGBImage.read(folder + "/first.png"), "rerun of \(source)")
        }
        // The same model as one original-layout file (configs from the folder) makes the same image.
        let single = try TestSupport.run(binary, ["generate", "--model", singleFile, "--config", folderModel, "--output", folder + "/single.png"] + common)
        #expect(single.status == 0, "\(single.stderr)")
        let difference = zip(try RGBImage.read(folder + "/single.png").pixels, try RGBImage.read(folder + "/first.png").pixels).map { abs(Int($0) - Int($1)) }.max()
        #expect(difference.map { $0 <= 1 } == true, "single file vs folder: \(String(describing: difference))")
    }

    @Test func imagesWithoutParametersOrModelsExitTwo() throws {
        let folder = try TestSupport.temporaryFolder("rerun-bad")
        try TestImages.write(width: 32, height: 32, to: folder + "/plain.png")
        let plain = try TestSupport.run(binary, ["rerun", folder + "/plain.png"])
        #expect(plain.status == 2 && plain.stderr.contains("no generation parameters") && plain.stderr.contains("hint:"), "\(plain.stderr)")

        let made = try TestSupport.run(binary, ["generate", "--model", folderModel, "--prompt", "x", "--steps", "1", "--size", "16x16", "--output", folder + "/x.png"])
        #expect(made.status == 0)
        let missing = try TestSupport.run(binary, ["rerun", folder + "/x.png", "--model", folder + "/gone"])
        #expect(missing.status == 2 && missing.stderr.contains("no such file"), "\(missing.stderr)")
    }
}
