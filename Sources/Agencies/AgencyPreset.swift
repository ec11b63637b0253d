import AtomicFiles
import Foundation
import Metadata
import Yams

/// Where a rule comes from, so every rejection can name its source.
public struct RuleSource: Codable, Sendable, Equatable {
    public enum Confidence: String, Codable, Sendable { case official, thirdParty = "third-party", unverified }
    public var url: String
    public var checked: String
    public var confidence: Confidence

    public init(url: String, checked: String, confidence: Confidence) {
        self.url = url; self.checked = checked; self.confidence = confidence
    }
}

/// Whether a broken rule refuses the file or is only reported.
public enum RuleSeverity: String, Codable, Sendable { case reject, warning }

/// One rule of an agency: a value and its source. `severity: warning` reports without rejecting.
public struct Rule<Value: Codable & Sendable & Equatable>: Codable, Sendable, Equatable {
    public typealias Severity = RuleSeverity
    public var value: Value
    public var source: RuleSource
    public var severity: Severity

    enum CodingKeys: String, CodingKey { case value, source, checked, confidence, severity }

    public init(value: Value, source: RuleSource, severity: Severity = .reject) {
        self.value = value; self.source = source; self.severity = severity
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        value = try container.decode(Value.self, forKey: .value)
        source = RuleSource(url: try container.decode(String.self, forKey: .source),
                            checked: try container.decode(String.self, forKey: .checked),
                            confidence: try container.decode(RuleSource.Confidence.self, forKey: .confidence))
        severity = try container.decodeIfPresent(Severity.self, forKey: .severity) ?? .reject
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(value, forKey: .value)
        try container.encode(source.url, forKey: .source)
        try container.encode(source.checked, forKey: .checked)
        try container.encode(source.confidence, forKey: .confidence)
        try container.encode(severity, forKey: .severity)
    }
}

/// An agency's acceptance rules and upload format, loaded from presets/agencies/NAME.yaml.
public struct AgencyPreset: Codable, Sendable, Equatable {
    public struct AIPolicy: Codable, Sendable, Equatable {
        public var accepted: Bool
        /// The agency's words (or a faithful summary) to quote in a rejection.
        public var policy: String
        public var source: String
        public var checked: String
        public var confidence: RuleSource.Confidence
    }

    public struct Rules: Codable, Sendable, Equatable {
        public var formats: Rule<[String]>?
        public var colorSpaces: Rule<[String]>?
        public var minMegapixels: Rule<Double>?
        public var maxMegapixels: Rule<Double>?
        public var minSidePixels: Rule<Int>?
        public var maxSidePixels: Rule<Int>?
        public var maxFileSizeMB: Rule<Double>?
        public var minKeywords: Rule<Int>?
        public var maxKeywords: Rule<Int>?
        public var titleRequired: Rule<Bool>?
        public var maxTitleCharacters: Rule<Int>?
        public var descriptionRequired: Rule<Bool>?
        public var maxDescriptionCharacters: Rule<Int>?
        public var minTitleCharacters: Rule<Int>?
        public var maxKeywordCharacters: Rule<Int>?
        public var noDuplicateKeywords: Rule<Bool>?
        public var minFileSizeMB: Rule<Double>?
        /// The lowest JPEG quality (IJG scale, estimated from the file's quantisation table).
        public var minJPEGQuality: Rule<Int>?
        /// Names of term lists in presets/banned/ (NAME.txt) that may not appear in the title,
        /// description, keywords or prompt.
        public var bannedTerms: Rule<[String]>?
        /// Lists reported as warnings only (`severity` is ignored: always a warning).
        public var discouragedTerms: Rule<[String]>?
        /// Images whose 64-bit difference hashes differ in at most this many bits count as
        /// near-duplicates (within a package and against what earlier runs packaged).
        public var nearDuplicates: Rule<Int>?
        /// The most the finish stage may have enlarged the image (output / source long edge):
        /// above it, softness and upscaling artefacts are likely.
        public var maxEnlargement: Rule<Double>?
        /// The least detail an enlargement of 2× or more must have against a plain bicubic
        /// enlargement of its source (the detail figure, docs/upscaling.md): below it the image
        /// looks soft at 100 %. A warning in the presets; `checks: {soft: reject}` in a workflow
        /// makes it a rejection.
        public var minDetailVsBicubic: Rule<Double>?
        /// Title, description and keywords in Latin script (agencies that index English only).
        public var latinScriptMetadata: Rule<Bool>?
        public var titleWithoutCommas: Rule<Bool>?
        /// The CSV's category column must not be empty (given, or picked from the keywords).
        public var categoryRequired: Rule<Bool>?

        /// The severity of the rule named as in the preset file (`min_megapixels`), nil when absent.
        /// Discouraged terms are always warnings.
        public func severity(of name: String) -> RuleSeverity? {
            if name == "discouraged_terms" { return discouragedTerms == nil ? nil : .warning }
            let severities: [String: RuleSeverity?] = [
                "formats": formats?.severity, "color_spaces": colorSpaces?.severity, "min_megapixels": minMegapixels?.severity,
                "max_megapixels": maxMegapixels?.severity, "min_side_pixels": minSidePixels?.severity, "max_side_pixels": maxSidePixels?.severity,
                "max_file_size_mb": maxFileSizeMB?.severity, "min_keywords": minKeywords?.severity, "max_keywords": maxKeywords?.severity,
                "title_required": titleRequired?.severity, "max_title_characters": maxTitleCharacters?.severity,
                "description_required": descriptionRequired?.severity, "max_description_characters": maxDescriptionCharacters?.severity,
                "min_title_characters": minTitleCharacters?.severity, "max_keyword_characters": maxKeywordCharacters?.severity,
                "no_duplicate_keywords": noDuplicateKeywords?.severity, "min_file_size_mb": minFileSizeMB?.severity,
                "min_jpeg_quality": minJPEGQuality?.severity, "banned_terms": bannedTerms?.severity,
                "near_duplicates": nearDuplicates?.severity, "max_enlargement": maxEnlargement?.severity,
                "min_detail_vs_bicubic": minDetailVsBicubic?.severity,
                "latin_script_metadata": latinScriptMetadata?.severity, "title_without_commas": titleWithoutCommas?.severity,
                "category_required": categoryRequired?.severity,
            ]
            return severities[name] ?? nil
        }

        enum CodingKeys: String, CodingKey {
            case formats, colorSpaces = "color_spaces", minMegapixels = "min_megapixels"
            case maxMegapixels = "max_megapixels", minSidePixels = "min_side_pixels"
            case maxSidePixels = "max_side_pixels", maxFileSizeMB = "max_file_size_mb"
            case minKeywords = "min_keywords", maxKeywords = "max_keywords", titleRequired = "title_required"
            case maxTitleCharacters = "max_title_characters", descriptionRequired = "description_required"
            case maxDescriptionCharacters = "max_description_characters"
            case minTitleCharacters = "min_title_characters", maxKeywordCharacters = "max_keyword_characters"
            case noDuplicateKeywords = "no_duplicate_keywords", minFileSizeMB = "min_file_size_mb"
            case minJPEGQuality = "min_jpeg_quality", bannedTerms = "banned_terms", discouragedTerms = "discouraged_terms"
            case nearDuplicates = "near_duplicates", maxEnlargement = "max_enlargement", latinScriptMetadata = "latin_script_metadata"
            case titleWithoutCommas = "title_without_commas", categoryRequired = "category_required"
            case minDetailVsBicubic = "min_detail_vs_bicubic"
        }
    }

    public var id: String
    public var name: String
    public var ai: AIPolicy
    public var rules: Rules
    /// The CSV layout this agency's portal reads (see CSVFormat).
    public var csv: String
    /// The terms of each list named by `rules.banned_terms`, loaded with the preset.
    public var bannedTermLists: [String: TermList] = [:]
    /// presets/categories/ID.yaml, loaded with the preset: categories picked from keywords.
    public var categoryMap: CategoryMap?

    enum CodingKeys: String, CodingKey { case id, name, ai, rules, csv }

    /// The terms this agency refuses or discourages in keywords (its banned and discouraged lists
    /// that apply to keywords).
    public var keywordTerms: [String] {
        let names = (rules.bannedTerms?.value ?? []) + (rules.discouragedTerms?.value ?? [])
        return names.compactMap { bannedTermLists[$0] }.filter { $0.places.contains(.keywords) }.flatMap(\.terms)
    }

    /// An image's category here: the one given for this agency (workflow or sidecar `categories`),
    /// else the one its keywords pick from presets/categories/.
    public func category(given: [String: String], keywords: [String]) -> String? {
        given[id] ?? categoryMap?.category(for: keywords)
    }
}

public enum AgencyError: Error, CustomStringConvertible, Equatable {
    case unknownAgency(name: String, known: [String])
    case invalidPreset(path: String, reason: String)
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownAgency(name, _): return "unknown agency \"\(name)\""
        case let .invalidPreset(path, reason): return "invalid agency preset \(path): \(reason)"
        case let .cannotWrite(path, reason): return "cannot write \(path): \(reason)"
        }
    }

    public var hint: String {
        switch self {
        case let .unknownAgency(_, known): return "known agencies: \(known.joined(separator: ", ")) (presets/agencies/*.yaml)"
        case .invalidPreset: return "compare it with presets/agencies/adobe-stock.yaml"
        case .cannotWrite: return "check free disk space and permissions of the output folder"
        }
    }
}

/// Finds and loads agency presets from a presets folder.
public struct AgencyCatalog: Sendable {
    public let folder: String

    public let bannedFolder: String
    public let presetsFolder: String

    public init(presetsFolder: String) {
        self.presetsFolder = presetsFolder
        folder = presetsFolder + "/agencies"
        bannedFolder = presetsFolder + "/banned"
    }

    /// A preset from YAML text, without loading its term lists.
    public static func decode(yaml text: String) throws -> AgencyPreset {
        try YAMLDecoder().decode(AgencyPreset.self, from: text)
    }

    public func names() -> [String] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return files.filter { $0.hasSuffix(".yaml") && !$0.hasPrefix("_") }.map { String($0.dropLast(5)) }.sorted()
    }

    /// A preset or list name: lower-case letters, digits, dashes and underscores, not starting with
    /// `-` or `_` (`_template.yaml` is no agency), so it can only name a file in its folder.
    static func isPlainName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 64 && name.first != "-" && name.first != "_" && name.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }

    public func load(_ name: String) throws -> AgencyPreset {
        guard Self.isPlainName(name) else { throw AgencyError.unknownAgency(name: TerminalText.escaped(name), known: names()) }
        let path = folder + "/" + name + ".yaml"
        guard let text = RegularFile.text(atPath: path) else {
            throw AgencyError.unknownAgency(name: name, known: names())
        }
        do {
            let preset = try Self.decode(yaml: text)
            guard preset.id == name else {
                throw AgencyError.invalidPreset(path: path, reason: "id \"\(preset.id)\" does not match the file name")
            }
            guard CSVFormat(rawValue: preset.csv) != nil else {
                throw AgencyError.invalidPreset(path: path, reason: "unknown csv format \"\(preset.csv)\" (known: \(CSVFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            var loaded = preset
            loaded.categoryMap = try CategoryMap.load(presetsFolder: presetsFolder, agency: name)
            for list in (preset.rules.bannedTerms?.value ?? []) + (preset.rules.discouragedTerms?.value ?? []) {
                guard Self.isPlainName(list) else {
                    throw AgencyError.invalidPreset(path: path, reason: "banned_terms names \"\(TerminalText.escaped(list))\", which is not a plain list name")
                }
                let listPath = bannedFolder + "/" + list + ".txt"
                guard let text = RegularFile.text(atPath: listPath) else {
                    throw AgencyError.invalidPreset(path: path, reason: "banned_terms names the list \"\(list)\", but \(listPath) is missing")
                }
                loaded.bannedTermLists[list] = TermList(text: text)
            }
            return loaded
        } catch let error as AgencyError {
            throw error
        } catch {
            throw AgencyError.invalidPreset(path: path, reason: "\(error)")
        }
    }
}
