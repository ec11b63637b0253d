// swift-tools-version:6.0
import PackageDescription

// Layering (see DESIGN.md): StockwerkCLI → Workflow → {Catalog, Imaging, Metadata, Agencies} → C shims.
let package = Package(
    name: "Stockwerk",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "stockwerk", targets: ["StockwerkCLI"]),
        .library(name: "StockwerkKit", targets: ["Workflow", "Catalog", "Imaging", "Metadata", "Agencies", "Diffusion", "Neural"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/yaslab/CSV.swift", from: "2.5.2"),
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

        .target(name: "CFiles"),
        .target(name: "Inflate", dependencies: ["CZlib"]),
        .target(name: "AtomicFiles", dependencies: ["CFiles"]),
        .target(name: "Neural", dependencies: ["AtomicFiles", "CBLAS", "CDNNL"]),
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
            "Catalog", "AtomicFiles", "Imaging", "Metadata", "Agencies", "Diffusion", "Neural", "Keywording",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "StockwerkCLI", dependencies: [
            "Workflow", "AtomicFiles", "Agencies", "Metadata", "Imaging", "Diffusion", "Neural", "Keywording",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "StockwerkBench", dependencies: ["Workflow", "Agencies", "Imaging", "Metadata", "Neural", "Diffusion", "Keywording"],
                          path: "Tools/bench/StockwerkBench"),

        .target(name: "TestSupport", dependencies: ["Imaging"], path: "Tests/TestSupport"),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "TestSupport"]),
        .testTarget(name: "MetadataTests", dependencies: ["Metadata", "Imaging", "TestSupport"]),
        .testTarget(name: "AgenciesTests", dependencies: ["Agencies", "Metadata", "Imaging", "TestSupport",
                                                          .product(name: "CSV", package: "CSV.swift")]),
        .testTarget(name: "CatalogTests", dependencies: ["Catalog"]),
        .testTarget(name: "AtomicFilesTests", dependencies: ["AtomicFiles", "TestSupport"]),
        .testTarget(name: "NeuralTests", dependencies: ["Neural", "TestSupport"]),
        .testTarget(name: "DiffusionTests", dependencies: ["Diffusion", "Neural", "TestSupport"]),
        .testTarget(name: "KeywordingTests", dependencies: ["Keywording", "Metadata", "Neural", "TestSupport", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "WorkflowTests", dependencies: ["Workflow", "Diffusion", "Neural", "Catalog", "Imaging", "Metadata", "Agencies", "TestSupport"]),
        .testTarget(name: "CLITests", dependencies: ["TestSupport", "Neural", "Imaging", .product(name: "CSV", package: "CSV.swift")]),
    ]
)
