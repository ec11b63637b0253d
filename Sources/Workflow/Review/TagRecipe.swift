import Foundation
import Metadata

/// What the tag stage wrote an image from, recorded with its result: the finished JPEG, the
/// metadata before any review edit, the write options and the edits. A review edit rewrites the
/// image from it exactly as the tag stage would with that edit, so the next run finds it done.
public struct TagRecipe: Codable, Sendable {
    /// The finished JPEG the tagged image was written from.
    public var source: String
    /// The run's metadata, before any edit.
    public var metadata: StockMetadata
    /// The job's categories by agency id, before any edit.
    public var categories: [String: String]
    public var options: WriteOptions
    /// The tag stage's identity without edits: what a review was made on.
    public var base: String
    /// The edits of a review made on `base`, written into the image.
    public var edits: ReviewEdits?
    public var warnings: [String]

    /// The metadata written: the run's with the edits.
    public var written: StockMetadata { edits?.applied(to: metadata) ?? metadata }
    public var writtenCategories: [String: String] { edits?.applied(to: categories) ?? categories }

    /// The tag stage's identity: the base, and the edits when there are any.
    public static func identity(base: String, edits: ReviewEdits?) -> String {
        guard let edits, !edits.isEmpty else { return base }
        return Hashing.of([base, "review-v1", edits.json])
    }

    /// Writes the tagged image at `destination` (atomically); returns what writing noticed.
    func write(to destination: String) throws -> [String] {
        try MetadataWriter.write(written, source: source, destination: destination, options: options).map(\.description)
    }

    public static func decode(_ details: String) -> TagRecipe? {
        try? JSONDecoder().decode(TagRecipe.self, from: Data(details.utf8))
    }
}
