import Agencies
import Foundation
import Workflow

/// The review page: one card per finished image with everything the contact sheet shows (verdict
/// per agency with every reason, AI badge and evidence, detail figure and the softest region at
/// 100 %, warnings) and the controls: approve (P), reject (X), undecided (U), previous and next
/// (arrow keys), and an edit form for title, description, keywords (with ranked suggestions) and
/// each agency's category. Changes are sent as JSON with the page's form token.
enum ReviewPage {
    static func html(title: String, items: [ReviewLibrary.Item], agencies: [AgencyPreset], token: String, formToken: String) -> String {
        let e = ContactSheet.escape
        let query = "?token=" + token
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Review — \(e(title))</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #222; background: #f4f4f4; }
            header { position: sticky; top: 0; background: #222; color: #eee; padding: 8px 16px; z-index: 1; }
            header kbd { background: #444; border-radius: 3px; padding: 0 4px; }
            #counts { float: right; }
            main { display: grid; grid-template-columns: repeat(auto-fill, minmax(380px, 1fr)); gap: 14px; padding: 14px; }
            .card { background: #fff; border: 3px solid #ddd; border-radius: 6px; padding: 10px; }
            .card.selected { border-color: #2a6fdb; box-shadow: 0 0 0 2px #2a6fdb55; }
            .card.approved { background: #eef9ec; } .card.rejected { background: #fbeceb; opacity: 0.75; }
            .pair { display: flex; gap: 6px; } .pair img { width: 100%; height: 240px; object-fit: contain; background: #eee; }
            .pair img.crop { width: 50%; object-fit: none; }
            .state { display: block; text-align: right; font-weight: 600; margin-bottom: 4px; } .approved .state { color: #1b7a20; } .rejected .state { color: #b3261e; }
            .badge { display: inline-block; font: 600 11px/1 system-ui, sans-serif; padding: 3px 5px; border-radius: 3px; margin-right: 6px; background: #4b3bb3; color: #fff; }
            .name { font-family: monospace; font-size: 12px; color: #555; margin: 6px 0 2px; }
            .small { font-size: 12px; color: #444; } .soft { color: #a12; } .warning { color: #8a5a00; }
            .verdict { margin-top: 4px; padding: 3px 6px; border-radius: 4px; font-size: 12px; }
            .accepted { background: #e3f5e1; } .refused { background: #fbe3e1; } .verdict ul { margin: 2px 0 0 16px; padding: 0; }
            form { margin-top: 6px; } label { display: block; font-size: 12px; color: #555; margin-top: 4px; }
            input, textarea { width: 100%; box-sizing: border-box; font: inherit; font-size: 13px; }
            .suggestions button { font-size: 11px; margin: 2px; }
            .buttons { margin-top: 6px; display: flex; gap: 6px; } .error { color: #b3261e; font-size: 12px; }
            </style></head><body>
            <header><strong>\(e(title))</strong> — \(items.count) image\(items.count == 1 ? "" : "s"). Keys: <kbd>P</kbd> approve,
            <kbd>X</kbd> reject, <kbd>U</kbd> undecided, <kbd>←</kbd><kbd>→</kbd> previous/next. Packaging takes the approved ones.
            <span id="counts"></span></header>
            <main>

            """
        for item in items {
            let id = e(item.image)
            page += "<section class=\"card\(item.decision.map { " " + $0.rawValue } ?? "")\" data-image=\"\(id)\" tabindex=\"-1\">"
            page += "<span class=\"state\">\(item.decision.map { $0.rawValue } ?? "undecided")</span>"
            page += "<div class=\"pair\"><img alt=\"\(id)\" src=\"/image/\(Self.path(item.image))\(query)\">"
            if item.detail?.softest != nil {
                page += "<img class=\"crop\" alt=\"100 % crop of the softest region\" title=\"100 % crop of the softest region\" src=\"/crop/\(Self.path(item.image))\(query)\">"
            }
            page += "</div><div class=\"name\">" + (item.ai == nil ? "" : "<span class=\"badge\" title=\"\(e(item.ai ?? ""))\">AI</span>") + id + "</div>"
            if let ai = item.ai { page += "<div class=\"small\">AI-generated: \(e(ai))</div>" }
            if let detail = item.detail {
                page += "<div class=\"small\(detail.verdict == .soft ? " soft" : "")\">\(e(ContactSheet.detailLine(detail)))</div>"
            }
            if let problem = item.problem {
                page += "<div class=\"error\">Cannot be reviewed: \(e(problem))</div></section>\n"
                continue
            }
            for warning in item.warnings where warning != item.detail?.warning { page += "<div class=\"small warning\">⚠ \(e(warning))</div>" }
            for verdict in item.verdicts {
                let name = agencies.first { $0.id == verdict.agency }?.name ?? verdict.agency
                page += "<div class=\"verdict \(verdict.accepted ? "accepted" : "refused")\">\(e(name)): \(verdict.accepted ? "accepted" : "refused")"
                let findings = verdict.reasons.map { "<li>\(e($0.message))</li>" } + verdict.warnings.map { "<li class=\"warning\">\(e($0.message))</li>" }
                if !findings.isEmpty { page += "<ul>" + findings.joined() + "</ul>" }
                page += "</div>"
            }
            page += """
                <form>
                <label>Title <input name="title" value="\(e(item.title ?? ""))"></label>
                <label>Description <textarea name="description" rows="2">\(e(item.description ?? ""))</textarea></label>
                <label>Keywords (comma separated) <textarea name="keywords" rows="3">\(e(item.keywords.joined(separator: ", ")))</textarea></label>
                <div class="suggestions"></div>
                """
            for agency in agencies {
                page += "<label>\(e(agency.name)) category <input name=\"category:\(e(agency.id))\" value=\"\(e(item.categories[agency.id] ?? ""))\"></label>"
            }
            page += """
                <div class="buttons"><button type="submit">Save edits</button><button type="button" class="suggest">Suggest keywords</button></div>
                <div class="error"></div></form></section>

                """
        }
        page += "</main><script>\nconst token = \(Self.jsString(token)), formToken = \(Self.jsString(formToken));\n" + script + "</script></body></html>\n"
        return page
    }

    /// A file name as a URL path segment.
    static func path(_ name: String) -> String {
        name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/?#"))) ?? name
    }

    static func jsString(_ text: String) -> String {
        let data = (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8)
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "<", with: "\\u003c")
    }

    static let script = """
        const cards = [...document.querySelectorAll('.card')];
        let current = 0;
        async function send(path, body) {
          const response = await fetch(path + '?token=' + encodeURIComponent(token), {
            method: 'POST', headers: {'Content-Type': 'application/json', 'X-Stockwerk-Form': formToken}, body: JSON.stringify(body)});
          const text = await response.text();
          if (!response.ok) throw new Error(text || response.statusText);
          return JSON.parse(text);
        }
        function select(index) {
          if (!cards.length) return;
          current = Math.max(0, Math.min(cards.length - 1, index));
          cards.forEach((card, i) => card.classList.toggle('selected', i === current));
          cards[current].scrollIntoView({block: 'nearest'});
        }
        function counts() {
          const n = name => cards.filter(card => card.classList.contains(name)).length;
          document.getElementById('counts').textContent = n('approved') + ' approved, ' + n('rejected') + ' rejected, ' +
            (cards.length - n('approved') - n('rejected')) + ' undecided';
        }
        async function decide(card, decision) {
          const error = card.querySelector('.error');
          try {
            const item = await send('/decide', {image: card.dataset.image, decision: decision});
            card.classList.remove('approved', 'rejected');
            if (item.decision) card.classList.add(item.decision);
            card.querySelector('.state').textContent = item.decision || 'undecided';
            error.textContent = '';
          } catch (e) { error.textContent = e.message; }
          counts();
        }
        document.addEventListener('keydown', event => {
          if (event.target.closest && event.target.closest('input, textarea') || event.ctrlKey || event.metaKey || event.altKey) return;
          const key = event.key.toLowerCase();
          if (key === 'arrowright' || key === 'arrowdown') select(current + 1);
          else if (key === 'arrowleft' || key === 'arrowup') select(current - 1);
          else if (key === 'p') decide(cards[current], 'approved');
          else if (key === 'x') decide(cards[current], 'rejected');
          else if (key === 'u') decide(cards[current], null);
          else return;
          event.preventDefault();
        });
        cards.forEach((card, index) => {
          card.addEventListener('click', () => select(index));
          const form = card.querySelector('form');
          if (!form) return;  // an image that cannot be reviewed has no form
          form.addEventListener('submit', async event => {
            event.preventDefault();
            const edits = {title: form.elements['title'].value, description: form.elements['description'].value,
                           keywords: form.elements['keywords'].value.split(',').map(k => k.trim()).filter(k => k), categories: {}};
            for (const input of form.querySelectorAll('input[name^="category:"]')) edits.categories[input.name.slice(9)] = input.value;
            try {
              await send('/edit', {image: card.dataset.image, edits: edits});
              location.hash = card.dataset.image;
              location.reload();
            } catch (e) { card.querySelector('.error').textContent = e.message; }
          });
          card.querySelector('.suggest').addEventListener('click', async () => {
            const box = card.querySelector('.suggestions');
            box.textContent = 'ranking…';
            try {
              const response = await fetch('/suggest/' + encodeURIComponent(card.dataset.image) + '?token=' + encodeURIComponent(token));
              const words = await response.json();
              box.textContent = '';
              for (const word of words) {
                const button = document.createElement('button');
                button.type = 'button'; button.textContent = '+ ' + word;
                button.addEventListener('click', () => {
                  const list = form.elements['keywords'].value.split(',').map(k => k.trim()).filter(k => k);
                  if (!list.includes(word)) form.elements['keywords'].value = list.concat([word]).join(', ');
                  button.remove();
                });
                box.appendChild(button);
              }
            } catch (e) { box.textContent = 'no suggestions: ' + e.message; }
          });
        });
        const start = cards.findIndex(card => card.dataset.image === decodeURIComponent(location.hash.slice(1)));
        select(start < 0 ? 0 : start);
        counts();

        """
}
