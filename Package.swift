// swift-tools-version:6.0
import PackageDescription

// Layering (see DESIGN.md): StockwerkCLI → Workflow → {Catalog, Imaging, Metadata, Agencies} → C shims.
// Engine (docs/engine.md): Diffusion, Keywording → Neural (tensors, Backend, layers) ← CPUBackend (oneDNN), VulkanBackend (GPU).
let package = Package(
    name: "Stockwerk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stockwerk", targets: ["StockwerkCLI"]),
        .library(name: "StockwerkKit", targets: ["Workflow", "Catalog", "Imaging", "Metadata", "Agencies", "Diffusion", "Neural", "CPUBackend", "VulkanBackend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // System libraries, found with pkg-config.
        .systemLibrary(name: "CVipsSystem", pkgConfig: "vips",
                       providers: [.apt(["libvips-dev"])]),
        .systemLibrary(name: "CExifSystem", pkgConfig: "libexif",
                       providers: [.apt(["libexif-dev"])]),
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // Thin C shims: fixed-argument wrappers for libvips' variadic API, libexif entry helpers.
        .target(name: "CVips", dependencies: ["CVipsSystem"]),
        .target(name: "CExif", dependencies: ["CExifSystem"]),
        .target(name: "CDNNL", linkerSettings: [.linkedLibrary("dnnl"), .linkedLibrary(":libgomp.so.1")]),  // oneDNN (libdnnl-dev) and its OpenMP runtime

        // Vulkan compute: the loader is opened at run time (dlopen), so only its headers (libvulkan-dev)
        // are needed to build; the shaders are compiled into spirv.c by Tools/shaders/build-spirv.sh.
        .target(name: "CVulkan", exclude: ["shaders"], linkerSettings: [.linkedLibrary("dl")]),

        .target(name: "CFiles"),
        .target(name: "Inflate", dependencies: ["CZlib"]),
        .target(name: "AtomicFiles", dependencies: ["CFiles"]),
        // Tensors, the Backend protocol and the layer library; no kernels (docs/engine.md).
        .target(name: "Neural", dependencies: ["AtomicFiles"]),
        .target(name: "CPUBackend", dependencies: ["Neural", "CBLAS", "CDNNL"]),
        .target(name: "VulkanBackend", dependencies: ["Neural", "CVulkan"]),
        .target(name: "Diffusion", dependencies: ["Neural", "Inflate", "AtomicFiles"]),
        .target(name: "Imaging", dependencies: ["CVips", "AtomicFiles"]),
        .target(name: "Metadata", dependencies: [
            "CExif", "AtomicFiles", "CZlib", "Inflate",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .target(name: "Agencies", dependencies: [
            "Metadata", "Imaging", "AtomicFiles",
            .product(name: "Yams", package: "Yams"),
            .product(name: "CSV", package: "CSV.swift"),
        ]),
        .target(name: "Catalog", dependencies: [
            .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .target(name: "Keywording", dependencies: ["Neural", "AtomicFiles", "Imaging", "Metadata", .product(name: "Yams", package: "Yams")]),
        .target(name: "Workflow", dependencies: [
            "Catalog", "AtomicFiles", "Imaging", "Metadata", "Agencies", "Diffusion", "Neural", "CPUBackend", "VulkanBackend", "Keywording",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // `stockwerk review`: the local review page (Hummingbird, on 127.0.0.1 only).
        .target(name: "Review", dependencies: [
            "Workflow", "Catalog", "Agencies", "Imaging", "Metadata", "Keywording", .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "StockwerkCLI", dependencies: [
            "Workflow", "Review", "AtomicFiles", "Agencies", "Metadata", "Imaging", "Diffusion", "Neural", "CPUBackend", "VulkanBackend", "Keywording",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "StockwerkBench", dependencies: ["Workflow", "Agencies", "Imaging", "Metadata", "Neural", "CPUBackend", "Diffusion", "Keywording"],
                          path: "Tools/bench/StockwerkBench"),

        // The GPU backend alone for a machine with only a GPU driver (docs/gpu.md): no libvips, oneDNN or BLAS.
        .executableTarget(name: "stockwerk-gpu-check", dependencies: ["Diffusion", "Neural", "VulkanBackend"], path: "Tools/gpu-check"),

        .target(name: "TestSupport", dependencies: ["Imaging", "Neural", "CPUBackend", "VulkanBackend"], path: "Tests/TestSupport"),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"]),
        .testTarget(name: "MetadataTests", dependencies: ["Metadata", "Imaging", "TestSupport"]),
        .testTarget(name: "AgenciesTests", dependencies: ["Agencies", "Metadata", "Imaging", "TestSupport",
                                                          .product(name: "CSV", package: "CSV.swift")]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "TestSupport"]),
        .testTarget(name: "AtomicFilesTests", dependencies: ["AtomicFiles", "TestSupport"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "CPUBackend", "TestSupport"]),
        .testTarget(name: "VulkanBackendTests", dependencies: ["VulkanBackend", "Diffusion", "Neural", "CPUBackend", "TestSupport"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Neural", "CPUBackend", "VulkanBackend", "TestSupport"]),
        .testTarget(name: "KeywordingTests", dependencies: ["Keywording", "Metadata", "Neural", "CPUBackend", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "Diffusion", "Neural", "CPUBackend", "VulkanBackend", "Catalog", "Imaging", "Metadata", "Agencies", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Neural", "CPUBackend", "Imaging", .product(name: "CSV", package: "CSV.swift")]),
    ]
)
