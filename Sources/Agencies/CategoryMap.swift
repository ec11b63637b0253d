import AtomicFiles
import Foundation
import Metadata
import Yams

/// Picks an agency category from an image's keywords (presets/categories/AGENCY.yaml): the
/// first keyword, in the image's order, listed under a category picks it.
public struct CategoryMap: Sendable, Equatable {
    /// Category → keywords, lower case, in file order.
    public let categories: [(category: String, keywords: Set<String>)]

    public static func == (a: CategoryMap, b: CategoryMap) -> Bool {
        a.categories.map(\.category) == b.categories.map(\.category) && a.categories.map(\.keywords) == b.categories.map(\.keywords)
    }

    /// Reads the map; nil when the agency has none.
    public static func load(presetsFolder: String, agency: String) throws -> CategoryMap? {
        let path = presetsFolder + "/categories/" + agency + ".yaml"
        guard let text = RegularFile.text(atPath: path) else { return nil }
        guard let node = try Yams.compose(yaml: text), case .mapping(let mapping) = node else {
            throw AgencyError.invalidPreset(path: path, reason: "expected a mapping of category to a list of keywords")
        }
        var categories: [(String, Set<String>)] = []
        for (key, value) in mapping {
            guard let category = key.string, case .sequence(let list) = value else {
                throw AgencyError.invalidPreset(path: path, reason: "category \(key.string ?? "?") needs a list of keywords")
            }
            categories.append((category, Set(list.compactMap { $0.string?.lowercased() })))
        }
        return CategoryMap(categories: categories)
    }

    init(categories: [(String, Set<String>)]) { self.categories = categories.map { (category: $0.0, keywords: $0.1) } }

    public func category(for keywords: [String]) -> String? {
        for keyword in keywords {
            let word = keyword.lowercased()
            let singular = WordForms.rulesOnly.normalized(word)
            if let match = categories.first(where: { $0.keywords.contains(word) || $0.keywords.contains(singular) }) { return match.category }
        }
        return nil
    }
}
