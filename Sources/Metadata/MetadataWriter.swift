import AtomicFiles
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// How a write treats what the camera and the encoder left in the file.
public struct WriteOptions: Sendable, Equatable, Codable {
    /// X/Y resolution in dots per inch, written as whole numbers (EXIF and JFIF); nil keeps the file's.
    public var resolution: Int?
    /// Drop Make, Model, lens, exposure, GPS and DateTimeOriginal (AI images made from a photo).
    public var dropCameraFields: Bool

    public init(resolution: Int? = nil, dropCameraFields: Bool = false) {
        self.resolution = resolution; self.dropCameraFields = dropCameraFields
    }
}

/// Writes `StockMetadata` into a JPEG: EXIF (libexif), XMP (APP1) and IPTC IIM (APP13) together.
/// The ICC profile and every segment we do not own stay as they were, byte for byte.
public enum MetadataWriter {
    /// Returns the new file bytes and any warnings (values cut to IIM limits).
    public static func embed(_ metadata: StockMetadata, into data: Data, path: String = "image", options: WriteOptions = WriteOptions()) throws
        -> (data: Data, warnings: [MetadataWarning]) {
        var jpeg = try JPEGFile(data: data, path: path)
        let warnings = try update(&jpeg, with: metadata, options: options)
        return (try jpeg.serialized(), warnings)
    }

    /// Replaces Stockwerk's blocks in `jpeg`'s segments, keeping everything else.
    static func update(_ jpeg: inout JPEGFile, with metadata: StockMetadata, options: WriteOptions = WriteOptions()) throws -> [MetadataWarning] {
        var warnings: [MetadataWarning] = []

        let exifBody = jpeg.body(JPEGFile.app1, signature: JPEGFile.exifSignature)
        let sRGB = jpeg.body(JPEGFile.app2, signature: JPEGFile.iccSignature).map(ICCDescription.isSRGB) ?? false
        let exif = try EXIFBlock.update(exifBody.map { Data(JPEGFile.exifSignature) + $0 }, with: metadata, options: options, sRGBProfile: sRGB)
        jpeg.replace(JPEGFile.app1, signature: JPEGFile.exifSignature, with: exif.block)
        if !exif.dropped.isEmpty {
            warnings.append(MetadataWarning(field: "EXIF", message: "dropped camera fields that would misdescribe an AI image: \(exif.dropped.joined(separator: ", "))"))
        }
        if let dpi = options.resolution { jpeg.setJFIFDensity(dotsPerInch: dpi) }

        // Foreign properties of the old packet (and of its Extended XMP, folded in) are kept.
        let oldPackets = [jpeg.body(JPEGFile.app1, signature: JPEGFile.xmpSignature), try ExtendedXMP.packet(in: jpeg)].compactMap { $0 }
        jpeg.removeAll(JPEGFile.app1, signature: JPEGFile.extendedXMPSignature)
        let (xmp, droppedXMP) = try XMPPacket.build(metadata, merging: oldPackets, droppingCamera: options.dropCameraFields)
        if !droppedXMP.isEmpty {
            warnings.append(MetadataWarning(field: "XMP", message: "dropped camera properties that would misdescribe an AI image: \(droppedXMP.joined(separator: ", "))"))
        }
        guard xmp.count + JPEGFile.xmpSignature.count <= JPEGFile.maxPayload else {
            throw MetadataError.segmentTooLarge(kind: "XMP", bytes: xmp.count)
        }
        jpeg.replace(JPEGFile.app1, signature: JPEGFile.xmpSignature, with: Data(JPEGFile.xmpSignature) + xmp)

        var resources = PhotoshopResources()
        if let existing = jpeg.body(JPEGFile.app13, signature: JPEGFile.photoshopSignature) {
            resources = try PhotoshopResources(parsing: existing)
        }
        let oldIIM = try resources.data(for: PhotoshopResources.iptcID).map(IPTCIIM.init(parsing:)) ?? IPTCIIM()
        resources.setIPTC(IPTCIIM.build(from: metadata, keeping: oldIIM, warnings: &warnings).serialized())
        jpeg.replace(JPEGFile.app13, signature: JPEGFile.photoshopSignature,
                     with: Data(JPEGFile.photoshopSignature) + resources.serialized())
        return warnings
    }

    /// Room left in the XMP segment for properties kept from the file (an editor's history, a
    /// camera's facts) when the size is judged before the file exists.
    static let roomForKeptProperties = 8_192

    /// Why `metadata` cannot be written into a JPEG — its XMP packet would not fit the one APP1
    /// segment it goes in — or nil. Checked while planning, so a long prompt is refused before an
    /// image is generated for it, not after.
    public static func sizeProblem(_ metadata: StockMetadata) -> String? {
        guard let packet = try? XMPPacket.build(metadata) else { return nil }
        let room = JPEGFile.maxPayload - JPEGFile.xmpSignature.count - roomForKeptProperties
        guard packet.count > room else { return nil }
        let fields: [(String, Int)] = [("prompt", max(metadata.aiPrompt?.count ?? 0, metadata.generation?.prompt.count ?? 0)),
                                       ("negative prompt", metadata.generation?.negativePrompt.count ?? 0),
                                       ("description", metadata.description?.count ?? 0), ("title", metadata.title?.count ?? 0),
                                       ("keywords", metadata.keywords.joined().count)]
        let longest = fields.max { $0.1 < $1.1 }!
        return "its XMP metadata would take \(packet.count) bytes, and a JPEG's XMP segment holds \(room) (\(JPEGFile.maxPayload) less room for what the file keeps); the \(longest.0) alone is \(longest.1) characters"
    }

    /// Reads `source`, embeds the metadata and writes `destination` atomically (they may be the same).
    @discardableResult
    public static func write(_ metadata: StockMetadata, source: String, destination: String, options: WriteOptions = WriteOptions()) throws -> [MetadataWarning] {
        try write([(metadata, source, destination)], options: options)[0]
    }

    /// Writes many files as one batch: only each header is read and rebuilt; the image data is
    /// copied in the kernel; one filesystem flush makes the batch durable before every file is
    /// renamed into place. A failure leaves every destination as it was.
    public static func write(_ files: [(metadata: StockMetadata, source: String, destination: String)], options: WriteOptions = WriteOptions()) throws -> [[MetadataWarning]] {
        let batch = AtomicBatch()
        var warnings: [[MetadataWarning]] = []
        var destinations = Set<String>()
        for (metadata, source, destination) in files {
            guard destinations.insert(destination).inserted else {
                throw MetadataError.cannotWrite(path: destination, reason: "it is named twice in one write")
            }
            // A file being replaced keeps its mode, owner and group.
            var existing = stat()
            let original: stat? = stat(destination, &existing) == 0 ? existing : nil
            var (jpeg, fd, size) = try JPEGFile.header(of: source)
            defer { close(fd) }
            warnings.append(try update(&jpeg, with: metadata, options: options))
            let header = try jpeg.serializedHeader()
            let scanOffset = jpeg.scanOffset
            do {
                try batch.add(destination, keepingAttributesOf: original) { out in
                    try AtomicBatch.write(header, to: out, path: destination)
                    try AtomicBatch.copy(from: fd, offset: scanOffset, length: size - scanOffset, to: out, path: destination)
                }
            } catch let error as AtomicFile.WriteError {
                throw MetadataError.cannotWrite(path: destination, reason: error.reason)
            }
        }
        do { try batch.commit() } catch let error as AtomicFile.WriteError {
            throw MetadataError.cannotWrite(path: error.path, reason: error.reason)
        }
        return warnings
    }
}
