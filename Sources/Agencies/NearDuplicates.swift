import Foundation
import Imaging

/// Agencies refuse "similar content": several near-identical images in one submission, or an
/// image like one already sent. Images are compared by their 64-bit difference hash (see
/// Thumbnails.differenceHash); at most `near_duplicates` differing bits counts as similar.
public enum NearDuplicates {
    /// A previously packaged image, or one earlier in this package. `id` names the image's slot
    /// (its output name): an image is never compared with an earlier version of itself.
    public struct Known: Sendable, Equatable {
        public var id: String
        public var fileName: String
        public var hash: UInt64
        public init(id: String, fileName: String, hash: UInt64) { self.id = id; self.fileName = fileName; self.hash = hash }
    }

    /// Adds a finding to every accepted item that is within the preset's threshold of an image
    /// packaged before (`earlier`, other jobs only) or of an accepted item before it here.
    /// `hashes` gives each item's hash by image path; `ids` its slot.
    public static func mark(_ items: inout [PackageItem], ids: [String], hashes: [String: UInt64], earlier: [Known], preset: AgencyPreset) {
        guard let rule = preset.rules.nearDuplicates else { return }
        var known = earlier
        for index in items.indices where items[index].verdict.accepted {
            guard let hash = hashes[items[index].imagePath] else { continue }
            let id = ids[index]
            let match = known.filter { $0.id != id }.map { ($0, Thumbnails.distance($0.hash, hash)) }.min { $0.1 < $1.1 }
            if let (other, distance) = match, distance <= rule.value {
                let finding = CheckFinding(rule: "near_duplicates",
                    message: "looks like \(other.fileName) (difference hash: \(distance) of 64 bits differ, at most \(rule.value) count as similar); \(preset.name) refuses similar content",
                    source: rule.source.url)
                if rule.severity == .reject {
                    items[index].verdict.reasons.append(finding)
                    items[index].verdict.accepted = false
                    continue
                }
                items[index].verdict.warnings.append(finding)
            }
            known.append(Known(id: id, fileName: items[index].entry.fileName, hash: hash))
        }
    }
}
