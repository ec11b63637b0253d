import Foundation

/// A prompt's emphasis as AUTOMATIC1111's web UI reads it (its parse_prompt_attention, whose
/// rules are what every A1111 and Civitai prompt is written for): `(words)` ×1.1, `[words]` ÷1.1,
/// nested brackets multiply, `(words:1.3)` sets the factor, `\(` `\)` `\[` `\]` `\\` are literal,
/// a bracket left open applies to the end, an unmatched closing one is literal, and `BREAK` (a
/// word of its own, outside brackets) starts a new 75-token chunk.
public enum PromptAttention {
    public enum Piece: Equatable, Sendable {
        case text(String, weight: Double)
        case chunkBreak
    }

    public static func parse(_ prompt: String) -> [Piece] {
        // Pieces as (text, weight); BREAK is weight −1 until brackets around it change it (as in A1111).
        var pieces: [(text: String, weight: Double)] = []
        var roundOpen: [Int] = [], squareOpen: [Int] = []
        func scale(from start: Int, by factor: Double) {
            for i in start..<pieces.count { pieces[i].weight *= factor }
        }
        let characters = Array(prompt)
        var i = 0
        while i < characters.count {
            let c = characters[i]
            if c == "\\" {
                // `\x` for x in ( ) [ ] \ is x; a lone backslash is dropped.
                if i + 1 < characters.count, "()[]\\".contains(characters[i + 1]) {
                    pieces.append((String(characters[i + 1]), 1))
                    i += 2
                } else {
                    pieces.append(("", 1))
                    i += 1
                }
            } else if c == "(" {
                roundOpen.append(pieces.count); i += 1
            } else if c == "[" {
                squareOpen.append(pieces.count); i += 1
            } else if c == ":" {
                if let (weight, end) = explicitWeight(characters, at: i), let start = roundOpen.popLast() {
                    scale(from: start, by: weight)
                    i = end
                } else {
                    appendText(":", to: &pieces); i += 1
                }
            } else if c == ")" {
                if let start = roundOpen.popLast() { scale(from: start, by: 1.1) } else { appendText(")", to: &pieces) }
                i += 1
            } else if c == "]" {
                if let start = squareOpen.popLast() { scale(from: start, by: 1 / 1.1) } else { appendText("]", to: &pieces) }
                i += 1
            } else {
                var end = i
                while end < characters.count, !"\\()[]:".contains(characters[end]) { end += 1 }
                appendText(String(characters[i..<end]), to: &pieces)
                i = end
            }
        }
        for start in roundOpen { scale(from: start, by: 1.1) }
        for start in squareOpen { scale(from: start, by: 1 / 1.1) }
        if pieces.isEmpty { pieces = [("", 1)] }
        var merged: [(text: String, weight: Double)] = []
        for piece in pieces {
            if let last = merged.last, last.weight == piece.weight { merged[merged.count - 1].text += piece.text } else { merged.append(piece) }
        }
        return merged.map { $0.text == "BREAK" && $0.weight == -1 ? .chunkBreak : .text($0.text, weight: $0.weight) }
    }

    /// `:` + spaces + a number + spaces + `)` at `start`: the weight and the index after `)`.
    /// The number is what A1111's `[+-]?[.\d]+` matches; one that is not a number is text here
    /// (A1111 fails on it).
    static func explicitWeight(_ characters: [Character], at start: Int) -> (Double, Int)? {
        var i = start + 1
        func skipSpaces() { while i < characters.count, characters[i].isWhitespace { i += 1 } }
        skipSpaces()
        let numberStart = i
        if i < characters.count, characters[i] == "+" || characters[i] == "-" { i += 1 }
        let digitsStart = i
        while i < characters.count, characters[i] == "." || ("0"..."9").contains(characters[i]) { i += 1 }
        guard i > digitsStart, let value = Double(String(characters[numberStart..<i])) else { return nil }
        skipSpaces()
        guard i < characters.count, characters[i] == ")" else { return nil }
        return (value, i + 1)
    }

    /// Text outside brackets' syntax, split at BREAK (a whole word, with the spaces around it).
    static func appendText(_ text: String, to pieces: inout [(text: String, weight: Double)]) {
        for (index, part) in splitAtBreak(text).enumerated() {
            if index > 0 { pieces.append(("BREAK", -1)) }
            pieces.append((part, 1))
        }
    }

    /// Python's re.split(r"\s*\bBREAK\b\s*", text).
    static func splitAtBreak(_ text: String) -> [String] {
        let characters = Array(text)
        func isWord(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
        var parts: [String] = [], current = 0, i = 0
        while i + 5 <= characters.count {
            let before = i == 0 ? nil : characters[i - 1], after = i + 5 < characters.count ? characters[i + 5] : nil
            if String(characters[i..<(i + 5)]) == "BREAK", !(before.map(isWord) ?? false), !(after.map(isWord) ?? false) {
                var start = i
                while start > current, characters[start - 1].isWhitespace { start -= 1 }
                var end = i + 5
                while end < characters.count, characters[end].isWhitespace { end += 1 }
                parts.append(String(characters[current..<start]))
                current = end
                i = end
            } else {
                i += 1
            }
        }
        parts.append(String(characters[current...]))
        return parts
    }
}
