import Foundation

/// The text clean-up and split that precede BPE. Equivalent to the regex
/// `<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+`
/// with everything it does not match (whitespace) dropped, written as a scanner over scalars.
enum CLIPPreTokenizer {
    static func normalize(_ text: String) -> String {
        let composed = text.precomposedStringWithCanonicalMapping
        var collapsed = String.UnicodeScalarView()
        var inSpace = false
        for scalar in composed.unicodeScalars {
            if isSpace(scalar) {
                if !inSpace { collapsed.append(" ") }
                inSpace = true
            } else {
                collapsed.append(scalar)
                inSpace = false
            }
        }
        return String(collapsed).lowercased()
    }

    /// Oniguruma's Unicode `\s`: tab to carriage return, NEL, line/paragraph separators, space separators.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x85, 0x2028, 0x2029: return true
        default: return scalar.properties.generalCategory == .spaceSeparator
        }
    }

    static func isLetter(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return true
        default: return false
        }
    }

    static func isNumber(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: return true
        default: return false
        }
    }

    static let specials = [CLIPTokenizer.startText, CLIPTokenizer.endText].map { Array($0.unicodeScalars) }
    static let contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].map { Array($0.unicodeScalars) }

    static func pieces(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var index = 0
        func starts(with literal: [Unicode.Scalar]) -> Bool {
            index + literal.count <= scalars.count && Array(scalars[index..<(index + literal.count)]) == literal
        }
        func take(_ end: Int) {
            var piece = String.UnicodeScalarView()
            piece.append(contentsOf: scalars[index..<end])
            pieces.append(String(piece))
            index = end
        }
        scan: while index < scalars.count {
            for literal in specials + contractions where starts(with: literal) {
                take(index + literal.count)
                continue scan
            }
            let scalar = scalars[index]
            if isLetter(scalar) {
                var end = index + 1
                while end < scalars.count, isLetter(scalars[end]) { end += 1 }
                take(end)
            } else if isNumber(scalar) {
                take(index + 1)
            } else if isSpace(scalar) {
                index += 1
            } else {
                var end = index + 1
                while end < scalars.count, !isSpace(scalars[end]), !isLetter(scalars[end]), !isNumber(scalars[end]) { end += 1 }
                take(end)
            }
        }
        return pieces
    }
}
