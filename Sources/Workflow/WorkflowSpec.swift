import Foundation
import Imaging
import Metadata

/// A parsed, validated workflow file. Paths are absolute (resolved against the file's folder).
public struct WorkflowSpec: Sendable {
    public struct ImportSource: Sendable {
        /// Glob patterns (`*`, `?`, `[…]`, and `**` for any depth of folders).
        public var patterns: [String]
        public var aiGenerated: Bool
        public var readSidecars: Bool
        public var readEmbeddedMetadata: Bool
        /// Where the `files` key is, for errors found while planning.
        var location: Location
    }

    public struct MetadataDefaults: Sendable {
        public var title: String?
        public var description: String?
        public var keywords: [String] = []
        public var creators: [String] = []
        public var copyright: String?
        /// `auto`: trainedAlgorithmicMedia for AI images, nothing for others.
        public var digitalSourceType: DigitalSourceTypeChoice = .auto
        /// Agency id → category (a number for Adobe Stock, names for Shutterstock).
        public var categories: [String: String] = [:]
        public var editorial = false
    }

    public enum DigitalSourceTypeChoice: String, Sendable, CaseIterable {
        case auto, none
        case trainedAlgorithmicMedia, compositeWithTrainedAlgorithmicMedia, digitalCapture, algorithmicallyEnhanced, digitalCreation
    }

    struct Location: Sendable { var line: Int; var column: Int }

    public var file: String
    public var name: String
    public var imports: [ImportSource]
    public var finish: FinishSettings
    public var metadata: MetadataDefaults
    public var agencies: [String]
    public var output: String
    var finishLocation: Location
    var agencyLocations: [String: Location]
}
