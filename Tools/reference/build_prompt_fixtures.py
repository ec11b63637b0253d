"""Prompt weighting and long prompts as AUTOMATIC1111's web UI reads them, on the committed tiny
SD1, SD2 and SDXL pipelines: the conditioning tensors Stockwerk must reproduce
(Tests/Fixtures/pipelines/a1111-prompts.safetensors and a1111-prompts.json).

This is a reference implementation of A1111's algorithm, written from its source as read in
AUTOMATIC1111/stable-diffusion-webui (v1.10 era):
- modules/prompt_parser.py @28bd8e14 parse_prompt_attention: `(x)` ×1.1, `[x]` ÷1.1, `(x:w)`,
  backslash escapes, BREAK, unclosed brackets applying to the end, runs of equal weight merged;
- modules/sd_hijack_clip.py @5ad03e65 TextConditionalModel.tokenize_line: each parsed piece
  tokenized alone without special tokens, 75-token chunks padded with the end token and wrapped
  in start/end, a chunk that fills up moves the words after its last comma (within
  comma_padding_backtrack = 20 tokens) to the next chunk, BREAK starts a new chunk;
  process_tokens: where the padding token is not the end token (SD2, SDXL's second tower),
  everything after the first end token becomes padding; forward: chunks encoded one by one and
  joined along the tokens, the pooled output from the first chunk;
- modules/sd_emphasis.py @f8391b8a EmphasisOriginal: states × multipliers, then × (mean before /
  mean after), means over the whole chunk tensor.
The hidden states are the ones A1111 uses, which are diffusers' too: SD1 the last (normed), SD2
the penultimate with the final norm (diffusers' 23-layer tower), SDXL both towers' penultimate,
unnormed, side by side.

Run in the reference venv (see README.md):
    ../stockwerk-reference-venv/bin/python Tools/reference/build_prompt_fixtures.py
"""
import json
import os
import re
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_fixtures import ROOT, versions  # noqa: E402

PIPELINES = os.path.join(ROOT, "Tests", "Fixtures", "pipelines")
CHUNK = 75
COMMA_BACKTRACK = 20

ATTENTION = re.compile(r"""
\\\(|\\\)|\\\[|\\]|\\\\|\\|\(|\[|:\s*([+-]?[.\d]+)\s*\)|\)|]|[^\\()\[\]:]+|:
""", re.X)
BREAK = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_attention(text):
    """[[piece, weight], ...]; ["BREAK", -1] marks a chunk break."""
    out, round_open, square_open = [], [], []

    def scale(start, factor):
        for entry in out[start:]:
            entry[1] *= factor
    for match in ATTENTION.finditer(text):
        token, weight = match.group(0), match.group(1)
        if token.startswith("\\"):
            out.append([token[1:], 1.0])
        elif token == "(":
            round_open.append(len(out))
        elif token == "[":
            square_open.append(len(out))
        elif weight is not None and round_open:
            scale(round_open.pop(), float(weight))
        elif token == ")" and round_open:
            scale(round_open.pop(), 1.1)
        elif token == "]" and square_open:
            scale(square_open.pop(), 1 / 1.1)
        else:
            for i, part in enumerate(BREAK.split(token)):
                if i > 0:
                    out.append(["BREAK", -1])
                out.append([part, 1.0])
    for start in round_open:
        scale(start, 1.1)
    for start in square_open:
        scale(start, 1 / 1.1)
    if not out:
        out = [["", 1.0]]
    i = 0
    while i + 1 < len(out):
        if out[i][1] == out[i + 1][1]:
            out[i][0] += out[i + 1][0]
            out.pop(i + 1)
        else:
            i += 1
    return out


def chunks(tokenizer, text, embeddings=()):
    """A1111's tokenize_line: [(77 ids, 77 multipliers, fixes), ...]; `embeddings` are
    (name, vectors) textual inversions, matched by their name's tokens (longest first, as
    A1111's EmbeddingDatabase.find_embedding_at_position), each taking as many placeholder
    tokens (id 0) as it has vectors, moved whole to the next chunk when it does not fit;
    fixes are (offset in the chunk without its start token, embedding index)."""
    start, end = tokenizer.bos_token_id, tokenizer.eos_token_id
    comma = tokenizer.get_vocab().get(",</w>")
    lookup = sorted(((tokenizer(name, add_special_tokens=False)["input_ids"], index) for index, (name, _) in enumerate(embeddings)),
                    key=lambda entry: -len(entry[0]))
    parsed = parse_attention(text)
    pieces = [tokenizer(piece, add_special_tokens=False, truncation=False)["input_ids"] for piece, _ in parsed]
    done, ids, weights, fixes, last_comma = [], [], [], [], -1

    def close():
        nonlocal ids, weights, fixes, last_comma
        pad = CHUNK - len(ids)
        done.append(([start] + ids + [end] * pad + [end], [1.0] + weights + [1.0] * pad + [1.0], fixes))
        ids, weights, fixes, last_comma = [], [], [], -1
    for tokens, (piece, weight) in zip(pieces, parsed):
        if piece == "BREAK" and weight == -1:
            close()
            continue
        position = 0
        while position < len(tokens):
            token = tokens[position]
            if token == comma:
                last_comma = len(ids)
            elif len(ids) == CHUNK and last_comma != -1 and len(ids) - last_comma <= COMMA_BACKTRACK:
                moved_ids, moved_weights = ids[last_comma + 1:], weights[last_comma + 1:]
                ids, weights = ids[:last_comma + 1], weights[:last_comma + 1]
                close()
                ids, weights = moved_ids, moved_weights
            if len(ids) == CHUNK:
                close()
            match = next(((name_ids, index) for name_ids, index in lookup if tokens[position:position + len(name_ids)] == name_ids), None)
            if match is None:
                ids.append(token)
                weights.append(weight)
                position += 1
                continue
            count = embeddings[match[1]][1].shape[0]
            if len(ids) + count > CHUNK:
                close()
            fixes.append((len(ids), match[1]))
            ids += [0] * count
            weights += [weight] * count
            position += len(match[0])
    if ids or not done:
        close()
    return done


def pad_after_end(tokenizer, ids):
    """process_tokens: where padding is not the end token, everything after the first end is padding."""
    end, pad = tokenizer.eos_token_id, tokenizer.pad_token_id
    if pad == end:
        return ids
    first = ids.index(end)
    return ids[:first + 1] + [pad] * (len(ids) - first - 1)


def emphasis(states, weights):
    before = states.mean()
    states = states * torch.tensor(weights, dtype=torch.float32).reshape(1, -1, 1).expand(states.shape)
    return states * (before / states.mean())


class EmbeddingsWithFixes(torch.nn.Module):
    """A1111's hijack of the token embedding: after the lookup, each fix's vectors replace the
    placeholder rows (offset + 1: after the start token)."""
    def __init__(self, wrapped):
        super().__init__()
        self.wrapped, self.fixes = wrapped, []

    def forward(self, input_ids):
        rows = self.wrapped(input_ids)
        if not self.fixes:
            return rows
        out = []
        for tensor in rows:
            for offset, vectors in self.fixes:
                count = min(tensor.shape[0] - offset - 1, vectors.shape[0])
                tensor = torch.cat([tensor[0:offset + 1], vectors[0:count], tensor[offset + 1 + count:]])
            out.append(tensor)
        return torch.stack(out)


def token_embedding_owner(encoder):
    return encoder.text_model.embeddings if hasattr(encoder, "text_model") else encoder.embeddings


CLIP_SKIP_PROMPTS = ["a photo of a red fox in snow, golden light", "a (red:1.3) fox BREAK " + " ".join(["snow"] * 80)]


def clip_skip_condition(pipe, text, skip):
    """A1111's Clip skip on SD 1.x (sd_hijack_clip.FrozenCLIPEmbedderWithCustomWords
    .encode_with_transformers): hidden_states[-skip] through the final layer norm, then emphasis."""
    tokenizer, encoder = pipe.tokenizer, pipe.text_encoder
    parts = []
    for ids, weights, _ in chunks(tokenizer, text):
        with torch.no_grad():
            output = encoder(torch.tensor([ids]), output_hidden_states=True)
            model = encoder.text_model if hasattr(encoder, "text_model") else encoder
            states = model.final_layer_norm(output.hidden_states[-skip])
        parts.append(emphasis(states, weights))
    return torch.cat(parts, dim=1)[0]


def condition(pipe, text, embeddings=()):
    """The conditioning A1111 gives the UNet for `text`: [77·chunks, width], and SDXL's pooled
    embeds; `embeddings`: (name, {tower key: vectors}) textual inversions (SD1/2: "emb_params";
    SDXL: "clip_l", "clip_g")."""
    towers = [(t, e) for t, e in [(pipe.tokenizer, pipe.text_encoder), (getattr(pipe, "tokenizer_2", None), getattr(pipe, "text_encoder_2", None))]
              if e is not None]
    sdxl = len(towers) == 2
    per_tower, pooled = [], None
    for index, (tokenizer, encoder) in enumerate(towers):
        key = ("clip_l", "clip_g")[index] if sdxl else "emb_params"
        tower_embeddings = [(name, vectors[key]) for name, vectors in embeddings if key in vectors]
        owner = token_embedding_owner(encoder)
        hijack = EmbeddingsWithFixes(owner.token_embedding)
        owner.token_embedding = hijack
        parts = []
        for number, (ids, weights, fixes) in enumerate(chunks(tokenizer, text, tower_embeddings)):
            tokens = torch.tensor([pad_after_end(tokenizer, ids)])
            hijack.fixes = [(offset, tower_embeddings[e][1]) for offset, e in fixes]
            with torch.no_grad():
                output = encoder(tokens, output_hidden_states=True)
            states = output.hidden_states[-2] if sdxl else output.last_hidden_state
            if sdxl and index == 1 and number == 0:
                pooled = output.text_embeds
            parts.append(emphasis(states, weights))
        owner.token_embedding = hijack.wrapped
        per_tower.append(torch.cat(parts, dim=1))
    assert len({t.shape[1] for t in per_tower}) == 1, "the towers made different numbers of chunks"
    return torch.cat(per_tower, dim=2)[0], pooled


def prompts():
    """Weights, nesting, escapes, BREAK, unmatched brackets, commas at chunk ends, long prompts."""
    words = ("majestic red fox standing in fresh snow at golden hour, soft rim light, shallow depth of field, "
             "bokeh, highly detailed fur, professional wildlife photography, national geographic style, 85mm lens, "
             "cinematic colour grading, winter forest background, crisp morning air, award winning").split(" ")

    def long(n, seed):
        g = torch.Generator().manual_seed(seed)
        return " ".join(words[i] for i in torch.randint(0, len(words), (n,), generator=g).tolist())
    fixed = [
        "a photo of a red fox in snow, golden light",
        "a (red) fox", "a ((red)) fox", "a (((red))) fox", "a [red] fox", "a [[red]] fox",
        "a (red:1.3) fox", "a (red:0.5) fox", "a (red fox:1.25) in snow", "a (red: 1.3 ) fox", "(red:+1.2) fox",
        "a (red:-0.5) fox", "(a (red:1.5) fox:0.8)", "[a (red) fox]", "((a [red] fox))", "a (red [fox] snow:1.2)",
        r"a \(red\) fox", r"a \[red\] fox", r"a \\ fox", r"a \ fox", r"\((red:1.2)\)", r"a (\(red\):1.4) fox",
        "a (red fox", "a red) fox", "a [red fox", "a red] fox", "a (red [fox)", "(((", "]]]", ")(",
        "a red fox BREAK snowy forest", "BREAK a red fox", "a red fox BREAK", "a red fox BREAK BREAK snow",
        "a BREAKFAST fox", "a (red BREAK fox)", "red BREAK(fox:1.2)", "a red fox: in snow", "ratio 16:9 photo",
        "", " ", ",", "(:1.2)", "a (:1.2) fox", "(red)(fox)", "(red) (fox)", "red, fox, (snow:1.1), [blur]",
        "an (émigré café:1.2) in Zürich", "fox 🦊 (snow:1.2)",
    ]
    generated = [
        long(90, 1), long(160, 2), "(" + long(100, 3) + ":1.1)", long(60, 4) + " BREAK " + long(60, 5),
        ", ".join(long(6, 100 + i) for i in range(20)),  # commas near every chunk end
        long(74, 6) + ", " + long(10, 7), "[" + long(200, 8) + "]", long(40, 9) + " (" + long(80, 10) + ":0.9) " + long(40, 11),
    ]
    return fixed + generated


EMBEDDINGS = os.path.join(ROOT, "Tests", "Fixtures", "embeddings")
EMBEDDING_PROMPTS = {
    "sd1": ["a photo of a fox, tiny-style", "(tiny-style:1.3) fox in snow", "[tiny-style] fox, bad-hands", "tiny-style tiny-style fox",
            "tiny-styles fox", " ".join(["fox"] * 74) + " tiny-style snow", "a fox BREAK tiny-style"],
    "sdxl": ["a photo of a fox, xl-style", "(xl-style:0.8) fox", " ".join(["fox"] * 73) + " xl-style snow"],
}


def write_embeddings():
    """A1111-format textual inversions: SD1 files hold `emb_params` [vectors, 32]; SDXL files
    `clip_l` [vectors, 32] and `clip_g` [vectors, 40] (the tiny towers' widths)."""
    shutil.rmtree(EMBEDDINGS, ignore_errors=True)
    os.makedirs(EMBEDDINGS)
    g = torch.Generator().manual_seed(51)
    files = {"tiny-style": {"emb_params": torch.randn((2, 32), generator=g)},
             "bad-hands": {"emb_params": torch.randn((3, 32), generator=g)},
             "xl-style": {"clip_l": torch.randn((3, 32), generator=g), "clip_g": torch.randn((3, 40), generator=g)}}
    for name, tensors in files.items():
        save_file(tensors, os.path.join(EMBEDDINGS, name + ".safetensors"))
    return [(name, tensors) for name, tensors in files.items()]


def build():
    import diffusers
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    models = {"sd1": StableDiffusionPipeline.from_pretrained(os.path.join(PIPELINES, "tiny-sd1"), safety_checker=None, requires_safety_checker=False),
              "sd2": StableDiffusionPipeline.from_pretrained(os.path.join(PIPELINES, "tiny-sd2"), safety_checker=None, requires_safety_checker=False),
              "sdxl": StableDiffusionXLPipeline.from_pretrained(os.path.join(PIPELINES, "tiny-sdxl"))}
    cases = prompts()
    tensors = {}
    for name, pipe in models.items():
        for i, text in enumerate(cases):
            context, pooled = condition(pipe, text)
            tensors[f"{name}.{i}.context"] = context
            if pooled is not None:
                tensors[f"{name}.{i}.pooled"] = pooled
    embeddings = write_embeddings()
    for name, texts in EMBEDDING_PROMPTS.items():
        for i, text in enumerate(texts):
            context, pooled = condition(models[name], text, embeddings)
            tensors[f"embeddings.{name}.{i}.context"] = context
            if pooled is not None:
                tensors[f"embeddings.{name}.{i}.pooled"] = pooled
    for i, text in enumerate(CLIP_SKIP_PROMPTS):
        tensors[f"clip-skip.sd1.{i}.context"] = clip_skip_condition(models["sd1"], text, 2)
    with open(os.path.join(PIPELINES, "a1111-prompts.json"), "w", encoding="utf-8") as f:
        json.dump({"prompts": cases, "parsed": [parse_attention(text) for text in cases], "embedding_prompts": EMBEDDING_PROMPTS,
                   "clip_skip_prompts": CLIP_SKIP_PROMPTS}, f, ensure_ascii=False, indent=0)
    metadata = dict(versions(), diffusers=diffusers.__version__, prompts=str(len(cases)))
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(PIPELINES, "a1111-prompts.safetensors"), metadata=metadata)
    chunk_counts = [tensors[f"sd1.{i}.context"].shape[0] // 77 for i in range(len(cases))]
    print(len(cases), "prompts; chunks per prompt:", chunk_counts)


if __name__ == "__main__":
    build()
