#!/usr/bin/env python3
"""Build metadata-based AI-provenance fixtures for Stockwerk.

Writes small 64x48 gradient images into Tests/Fixtures/provenance/, each one
carrying the generation metadata exactly the way the producing tool writes it
(the writer code of every tool is cited next to the function that imitates it),
plus negative controls and hostile files, and an expectations file
`expected.json`.

C2PA fixtures live in the same folder but are made by build_c2pa_fixtures.py;
this script never touches them (it writes and overwrites only its own names).

Usage (outside the repository's Swift toolchain):

    python3 -m venv /tmp/provvenv
    /tmp/provvenv/bin/pip install pillow piexif
    /tmp/provvenv/bin/python Tools/reference/build_provenance_fixtures.py [OUT_DIR]

    # the 10 MB hostile file is not committed; write it elsewhere on demand:
    /tmp/provvenv/bin/python Tools/reference/build_provenance_fixtures.py \
        --big-parameters /tmp/hostile-big-parameters.png

Only ASCII/UTF-8 text, deterministic inputs and Pillow's encoders are used, so
re-running the script reproduces the same files for the same Pillow version.
"""

import argparse
import io
import json
import os
import struct
import sys
import zlib

import piexif
import piexif.helper
from PIL import Image, PngImagePlugin

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_OUT = os.path.join(REPO, "Tests", "Fixtures", "provenance")

IPTC_EXT_NS = "http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
DST = "http://cv.iptc.org/newscodes/digitalsourcetype/"

# Where each format is documented (writer code first). See /tmp/provenance-formats.md
# (not in the repo) for the full notes.
SRC = {
    "a1111": "https://github.com/AUTOMATIC1111/stable-diffusion-webui/blob/master/modules/images.py",
    "a1111-ascii": "https://github.com/exiftool/exiftool/blob/master/lib/Image/ExifTool/WriteExif.pl",
    "comfyui": "https://github.com/comfyanonymous/ComfyUI/blob/master/nodes.py",
    "invokeai": "https://github.com/invoke-ai/InvokeAI/blob/main/invokeai/app/services/image_files/image_files_disk.py",
    "invokeai3": "https://github.com/invoke-ai/InvokeAI/blob/v3.6.2/invokeai/app/services/image_files/image_files_disk.py",
    "invokeai2": "https://github.com/invoke-ai/InvokeAI/blob/v2.3.5.post2/ldm/invoke/pngwriter.py",
    "fooocus": "https://github.com/lllyasviel/Fooocus/blob/main/modules/private_logger.py",
    "novelai": "https://github.com/NovelAI/novelai-image-metadata/blob/main/nai_meta_writer.py",
    "drawthings": "https://github.com/drawthingsai/draw-things-community/blob/main/Libraries/LocalImageGenerator/Sources/ImageConverter.swift",
    "iptc": "https://github.com/exiftool/exiftool/blob/master/lib/Image/ExifTool/XMP2.pl",
    "iptc-dst": "https://cv.iptc.org/newscodes/digitalsourcetype/",
    "exif": "https://github.com/hMatoba/Piexif/blob/master/piexif/helper.py",
    "png": "https://www.w3.org/TR/png-3/#11textinfo",
}


# --------------------------------------------------------------------------
# Image and container helpers
# --------------------------------------------------------------------------

def gradient_image(w=64, h=48):
    img = Image.new("RGB", (w, h))
    px = img.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = (x * 255 // (w - 1), y * 255 // (h - 1), 128)
    return img


def png_bytes(pnginfo=None, compress_level=6):
    buf = io.BytesIO()
    gradient_image().save(buf, "PNG", pnginfo=pnginfo, compress_level=compress_level)
    return buf.getvalue()


def jpeg_bytes(**save_args):
    buf = io.BytesIO()
    gradient_image().save(buf, "JPEG", **save_args)
    return buf.getvalue()


def piexif_insert(exif_bytes, jpeg):
    """piexif.insert(exif, file) as A1111 calls it, on bytes instead of a path."""
    out = io.BytesIO()
    piexif.insert(exif_bytes, jpeg, out)
    return out.getvalue()


def png_chunk(ctype, data):
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF)


def split_png(png):
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = [], 8
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos:pos + 4])
        end = pos + 12 + length
        chunks.append((png[pos + 4:pos + 8], png[pos:end]))
        pos = end
    return chunks


def insert_after_ihdr(png, raw_chunk):
    chunks = split_png(png)
    assert chunks[0][0] == b"IHDR"
    return png[:8] + chunks[0][1] + raw_chunk + b"".join(c for _, c in chunks[1:])


def insert_xmp_app1(jpeg, packet):
    """Put an XMP APP1 segment into a JPEG: after SOI, and after the JFIF APP0
    when there is one (JFIF wants APP0 first; ExifTool places XMP there too)."""
    assert jpeg[:2] == b"\xff\xd8"
    payload = b"http://ns.adobe.com/xap/1.0/\x00" + packet
    segment = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    pos = 2
    if jpeg[2:4] == b"\xff\xe0":
        (length,) = struct.unpack(">H", jpeg[4:6])
        pos = 4 + length
    return jpeg[:pos] + segment + jpeg[pos:]


def xmp_packet(description_attrs="", description_body="", namespaces=None):
    ns = {"Iptc4xmpExt": IPTC_EXT_NS}
    ns.update(namespaces or {})
    ns_decl = "".join(f'\n    xmlns:{p}="{u}"' for p, u in ns.items())
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
        ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        f'  <rdf:Description rdf:about=""{ns_decl}{description_attrs}'
        + (f">\n{description_body}  </rdf:Description>\n" if description_body else "/>\n")
        + " </rdf:RDF>\n"
        "</x:xmpmeta>\n"
        '<?xpacket end="w"?>'
    ).encode("utf-8")


# --------------------------------------------------------------------------
# Shared generation data
# --------------------------------------------------------------------------

FOX = "a red fox in a snowy forest, golden hour"
FOX_NEG = "blurry, lowres, watermark"

# AUTOMATIC1111 create_infotext (modules/processing.py):
#   f"{prompt}{'\nNegative prompt: ' + neg}\n{', '.join(k: v)}"
# v1.9+ writes the scheduler as its own "Schedule type" key.
A1111_PROMPT = FOX + ",\nhighly detailed, 35mm photograph"
A1111_PARAMS = ("Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234, "
                "Size: 512x512, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.10.1")


def a1111_infotext(prompt=A1111_PROMPT, negative=FOX_NEG, params=A1111_PARAMS):
    neg = f"\nNegative prompt: {negative}" if negative else ""
    return f"{prompt}{neg}\n{params}".strip()


# --------------------------------------------------------------------------
# Fixture builders. Each returns (bytes, expected-entry without "file").
# --------------------------------------------------------------------------

def exp(ai, kind, where, prompt, model, source, note=None):
    e = {"ai": ai, "kind": kind, "where": where, "prompt": prompt, "model": model, "source": source}
    if note:
        e["note"] = note
    return e


def a1111_png():
    # save_image_with_geninfo: PngInfo().add_text(k, str(v)) for every item, then
    # image.save(..., pnginfo=...). Pillow's default compress level.
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_infotext())
    return png_bytes(info), exp(True, "a1111-parameters", "PNG tEXt parameters", A1111_PROMPT,
                                "v1-5-pruned-emaonly", SRC["a1111"])


def a1111_itxt_png():
    # Same call; Pillow's add_text falls back to an (uncompressed) iTXt chunk when
    # the text is not latin-1, so a non-Latin prompt gives iTXt with no extra code.
    prompt = FOX + ", 雪の森,\nhighly detailed, 35mm photograph"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_infotext(prompt=prompt))
    data = png_bytes(info)
    assert any(t == b"iTXt" for t, _ in split_png(data))
    return data, exp(True, "a1111-parameters", "PNG iTXt parameters", prompt,
                     "v1-5-pruned-emaonly", SRC["a1111"])


def a1111_ztxt_png():
    # Not what A1111 writes itself; the same text as a zTXt chunk (what
    # add_text(..., zip=True) or a PNG optimiser leaves). Readers must inflate it.
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_infotext(), zip=True)
    return png_bytes(info), exp(True, "a1111-parameters", "PNG zTXt parameters", A1111_PROMPT,
                                "v1-5-pruned-emaonly", SRC["a1111"])


def a1111_jpg():
    # save_image_with_geninfo, JPEG branch: image.save(quality=opts.jpeg_quality [80]),
    # then piexif.insert(piexif.dump({"Exif": {UserComment: UserComment.dump(geninfo,
    # encoding="unicode")}}), filename). piexif writes big-endian TIFF ("MM"), so
    # the UTF-16 after "UNICODE\0" is big-endian.
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment:
                                 piexif.helper.UserComment.dump(a1111_infotext(), encoding="unicode")}})
    return piexif_insert(exif, jpeg_bytes(quality=80)), exp(
        True, "a1111-parameters", "EXIF UserComment", A1111_PROMPT, "v1-5-pruned-emaonly", SRC["a1111"])


def a1111_ascii_jpg():
    # EXIF 2.3 "ASCII\0\0\0" character code. No SD front end found that writes it
    # (A1111, Forge, SD.Next all use "unicode"); it is what ExifTool writes for
    # a pure-ASCII UserComment (EncodeExifText) and piexif's default encoding,
    # i.e. A1111 text copied into a JPEG by ExifTool or a script.
    exif = piexif.dump({"Exif": {piexif.ExifIFD.UserComment:
                                 piexif.helper.UserComment.dump(a1111_infotext(), encoding="ascii")}})
    return piexif_insert(exif, jpeg_bytes(quality=80)), exp(
        True, "a1111-parameters", "EXIF UserComment (ASCII character code)", A1111_PROMPT,
        "v1-5-pruned-emaonly", SRC["a1111-ascii"])


COMFY_CKPT = "sd_xl_base_1.0.safetensors"
COMFY_NEG = "text, watermark, blurry"


def comfyui_prompt():
    # API format graph as passed to SaveImage's hidden "prompt" input.
    return {
        "3": {"inputs": {"seed": 1234, "steps": 20, "cfg": 7.0, "sampler_name": "euler",
                         "scheduler": "normal", "denoise": 1.0, "model": ["4", 0],
                         "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]},
              "class_type": "KSampler", "_meta": {"title": "KSampler"}},
        "4": {"inputs": {"ckpt_name": COMFY_CKPT},
              "class_type": "CheckpointLoaderSimple", "_meta": {"title": "Load Checkpoint"}},
        "5": {"inputs": {"width": 1024, "height": 1024, "batch_size": 1},
              "class_type": "EmptyLatentImage", "_meta": {"title": "Empty Latent Image"}},
        "6": {"inputs": {"text": FOX, "clip": ["4", 1]},
              "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "7": {"inputs": {"text": COMFY_NEG, "clip": ["4", 1]},
              "class_type": "CLIPTextEncode", "_meta": {"title": "CLIP Text Encode (Prompt)"}},
        "8": {"inputs": {"samples": ["3", 0], "vae": ["4", 2]},
              "class_type": "VAEDecode", "_meta": {"title": "VAE Decode"}},
        "9": {"inputs": {"filename_prefix": "ComfyUI", "images": ["8", 0]},
              "class_type": "SaveImage", "_meta": {"title": "Save Image"}},
    }


def comfyui_workflow():
    # UI (LiteGraph) format, the "workflow" key of extra_pnginfo. links are
    # [link_id, origin_node, origin_slot, target_node, target_slot, type].
    def node(nid, ntype, order, pos, inputs, outputs, widgets):
        return {"id": nid, "type": ntype, "pos": pos, "size": [315, 106], "flags": {}, "order": order,
                "mode": 0, "inputs": inputs, "outputs": outputs,
                "properties": {"Node name for S&R": ntype}, "widgets_values": widgets}

    inp = lambda name, typ, link: {"name": name, "type": typ, "link": link}
    out = lambda name, typ, links, slot: {"name": name, "type": typ, "links": links, "slot_index": slot}
    nodes = [
        node(4, "CheckpointLoaderSimple", 0, [26, 474], [],
             [out("MODEL", "MODEL", [1], 0), out("CLIP", "CLIP", [3, 5], 1), out("VAE", "VAE", [8], 2)],
             [COMFY_CKPT]),
        node(5, "EmptyLatentImage", 1, [473, 609], [], [out("LATENT", "LATENT", [2], 0)], [1024, 1024, 1]),
        node(6, "CLIPTextEncode", 2, [415, 186], [inp("clip", "CLIP", 3)],
             [out("CONDITIONING", "CONDITIONING", [4], 0)], [FOX]),
        node(7, "CLIPTextEncode", 3, [413, 389], [inp("clip", "CLIP", 5)],
             [out("CONDITIONING", "CONDITIONING", [6], 0)], [COMFY_NEG]),
        node(3, "KSampler", 4, [863, 186],
             [inp("model", "MODEL", 1), inp("positive", "CONDITIONING", 4),
              inp("negative", "CONDITIONING", 6), inp("latent_image", "LATENT", 2)],
             [out("LATENT", "LATENT", [7], 0)], [1234, "fixed", 20, 7.0, "euler", "normal", 1.0]),
        node(8, "VAEDecode", 5, [1209, 188], [inp("samples", "LATENT", 7), inp("vae", "VAE", 8)],
             [out("IMAGE", "IMAGE", [9], 0)], []),
        node(9, "SaveImage", 6, [1451, 189], [inp("images", "IMAGE", 9)], [], ["ComfyUI"]),
    ]
    links = [[1, 4, 0, 3, 0, "MODEL"], [2, 5, 0, 3, 3, "LATENT"], [3, 4, 1, 6, 0, "CLIP"],
             [4, 6, 0, 3, 1, "CONDITIONING"], [5, 4, 1, 7, 0, "CLIP"], [6, 7, 0, 3, 2, "CONDITIONING"],
             [7, 3, 0, 8, 0, "LATENT"], [8, 4, 2, 8, 1, "VAE"], [9, 8, 0, 9, 0, "IMAGE"]]
    return {"last_node_id": 9, "last_link_id": 9, "nodes": nodes, "links": links, "groups": [],
            "config": {}, "extra": {"ds": {"scale": 1.0, "offset": [0, 0]}}, "version": 0.4}


def comfyui_png():
    # SaveImage.save_images: metadata.add_text("prompt", json.dumps(prompt)); then for
    # x in extra_pnginfo: metadata.add_text(x, json.dumps(extra_pnginfo[x]));
    # img.save(..., pnginfo=metadata, compress_level=4)
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", json.dumps(comfyui_prompt()))
    info.add_text("workflow", json.dumps(comfyui_workflow()))
    return png_bytes(info, compress_level=4), exp(
        True, "comfyui", "PNG tEXt prompt (+ workflow)", FOX, COMFY_CKPT, SRC["comfyui"])


INVOKE_MODEL_NAME = "stable-diffusion-xl-base-1-0"


def invokeai_png():
    # InvokeAI 4.x-6.x: CoreMetadataInvocation.model_dump(exclude_none=True, exclude id/type/
    # is_intermediate/use_cache) + app_version, serialised with pydantic model_dump_json()
    # (compact, UTF-8), stored with pnginfo.add_text("invokeai_metadata", ...).
    # model is a ModelIdentifierField {key, hash, name, base, type[, submodel_type]}.
    meta = {
        "generation_mode": "sdxl_txt2img",
        "positive_prompt": FOX,
        "negative_prompt": FOX_NEG,
        "width": 1024,
        "height": 1024,
        "seed": 1234,
        "rand_device": "cpu",
        "cfg_scale": 7.5,
        "cfg_rescale_multiplier": 0.0,
        "steps": 30,
        "scheduler": "dpmpp_2m_k",
        "model": {"key": "8d3f7a2e-5b8c-4e5f-9a1b-2c3d4e5f6a7b",
                  "hash": "blake3:d3b2c1a0f9e8d7c6b5a4938271605f4e3d2c1b0a99887766554433221100ffee",
                  "name": INVOKE_MODEL_NAME, "base": "sdxl", "type": "main"},
        "loras": [],
        "positive_style_prompt": FOX,
        "negative_style_prompt": FOX_NEG,
        "app_version": "4.2.9",
    }
    info = PngImagePlugin.PngInfo()
    info.add_text("invokeai_metadata", json.dumps(meta, separators=(",", ":"), ensure_ascii=False))
    return png_bytes(info, compress_level=1), exp(
        True, "invokeai", "PNG tEXt invokeai_metadata", FOX, INVOKE_MODEL_NAME, SRC["invokeai"])


def invokeai_v3_png():
    # InvokeAI 3.x: same chunk, but model is a MainModelField {model_name, base_model, model_type}
    # (v3.6.2 invokeai/app/invocations/model.py).
    meta = {
        "generation_mode": "txt2img",
        "positive_prompt": FOX,
        "negative_prompt": FOX_NEG,
        "width": 512,
        "height": 512,
        "seed": 1234,
        "rand_device": "cpu",
        "cfg_scale": 7.5,
        "steps": 30,
        "scheduler": "euler",
        "clip_skip": 0,
        "model": {"model_name": "stable-diffusion-v1-5", "base_model": "sd-1", "model_type": "main"},
        "controlnets": [],
        "ipAdapters": [],
        "t2iAdapters": [],
        "loras": [],
        "app_version": "3.6.2",
    }
    info = PngImagePlugin.PngInfo()
    info.add_text("invokeai_metadata", json.dumps(meta, separators=(",", ":"), ensure_ascii=False))
    return png_bytes(info, compress_level=6), exp(
        True, "invokeai", "PNG tEXt invokeai_metadata", FOX, "stable-diffusion-v1-5", SRC["invokeai3"])


def invokeai_legacy_png():
    # InvokeAI 2.x (ldm/invoke/pngwriter.py save_image_and_prompt_to_png):
    #   info.add_text('Dream', dream_prompt); info.add_text('sd-metadata', json.dumps(metadata))
    # dream_prompt = Args.dream_prompt_str(): "<prompt> -s steps -S seed -W w -H h -C cfg -A sampler"
    # metadata = args.metadata_dumps(): model/model_id/model_hash/app_id/app_version + image{...}.
    # Negative prompts are written inside the prompt in [square brackets].
    prompt = f"{FOX} [blurry, lowres]"
    dream = f"{prompt} -s 30 -S 1234 -W 512 -H 512 -C 7.5 -A k_lms"
    meta = {
        "model": "stable diffusion",
        "model_id": "stable-diffusion-1.5",
        "model_hash": "cc6cb27103417325ff94f52b7a5d2dde45a7515b25c255d8e396c90014281516",
        "app_id": "invoke-ai/InvokeAI",
        "app_version": "2.3.5",
        "image": {
            "prompt": [{"prompt": prompt, "weight": 1.0}],
            "steps": 30,
            "cfg_scale": 7.5,
            "threshold": 0,
            "perlin": 0,
            "height": 512,
            "width": 512,
            "seed": 1234,
            "seamless": False,
            "postprocessing": None,
            "sampler": "k_lms",
            "variations": [],
            "type": "txt2img",
        },
    }
    info = PngImagePlugin.PngInfo()
    info.add_text("Dream", dream)
    info.add_text("sd-metadata", json.dumps(meta))
    return png_bytes(info, compress_level=6), exp(
        True, "invokeai", "PNG tEXt sd-metadata (+ Dream)", FOX, "stable-diffusion-1.5", SRC["invokeai2"],
        note="the negative prompt is the [bracketed] part of the prompt string")


FOOOCUS_MODEL = "juggernautXL_v8Rundiffusion"


def fooocus_parameters():
    # async_worker.save_and_log builds (label, key, value) rows; FooocusMetadataParser.to_string
    # turns them into {key: value}, adds full_prompt/full_negative_prompt (lists), steps,
    # base_model (file stem), base_model_hash, vae, loras [[stem, weight, hash]] and returns
    # json.dumps(dict(sorted(res.items()))).
    res = {
        "prompt": FOX,
        "negative_prompt": FOX_NEG,
        "prompt_expansion": FOX + ", intricate, elegant, highly detailed, sharp focus, cinematic light",
        "styles": "['Fooocus V2', 'Fooocus Enhance', 'Fooocus Sharp']",
        "performance": "Speed",
        "steps": 30,
        "resolution": "(1152, 896)",
        "guidance_scale": 4.0,
        "sharpness": 2.0,
        "adm_guidance": "(1.5, 0.8, 0.3)",
        "base_model": FOOOCUS_MODEL,
        "refiner_model": "None",
        "refiner_switch": 0.5,
        "sampler": "dpmpp_2m_sde_gpu",
        "scheduler": "karras",
        "vae": "Default (model)",
        "seed": "1234",
        "lora_combined_1": "sd_xl_offset_example-lora_1.0 : 0.1",
        "metadata_scheme": "fooocus",
        "version": "Fooocus v2.5.5",
        "full_prompt": [FOX + ", intricate, elegant, highly detailed, sharp focus, cinematic light",
                        "cinematic still " + FOX + " . emotional, harmonious, vignette, highly detailed"],
        "full_negative_prompt": [FOX_NEG, "anime, cartoon, graphic, text, painting, crayon, graphite"],
        "base_model_hash": "1fe6c7ec54",
        "loras": [["sd_xl_offset_example-lora_1.0", 0.1, "4852686128"]],
    }
    return json.dumps(dict(sorted(res.items())))


def fooocus_png():
    # private_logger.log, PNG: pnginfo.add_text('parameters', parsed_parameters);
    # pnginfo.add_text('fooocus_scheme', metadata_parser.get_scheme().value)  -> "fooocus"
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", fooocus_parameters())
    info.add_text("fooocus_scheme", "fooocus")
    return png_bytes(info), exp(True, "fooocus", "PNG tEXt parameters (JSON) + fooocus_scheme", FOX,
                                FOOOCUS_MODEL, SRC["fooocus"])


def fooocus_jpg():
    # private_logger.log, JPEG: image.save(quality=95, optimize=True, progressive=True,
    # exif=meta_parser.get_exif(...)). get_exif sets, on a bare PIL Image.Exif():
    #   exif[0x9286] = metadata (UserComment), exif[0x0131] = 'Fooocus v' + version,
    #   exif[0x927C] = scheme (MakerNote)
    # Pillow therefore puts all three in IFD0 (not the Exif sub-IFD), as ASCII strings,
    # and the UserComment has no 8-byte character-code prefix.
    ex = Image.Exif()
    ex[0x9286] = fooocus_parameters()
    ex[0x0131] = "Fooocus v2.5.5"
    ex[0x927C] = "fooocus"
    data = jpeg_bytes(quality=95, optimize=True, progressive=True, exif=ex)
    return data, exp(True, "fooocus", "EXIF IFD0 UserComment (JSON, no charset prefix) + Software + MakerNote",
                     FOX, FOOOCUS_MODEL, "https://github.com/lllyasviel/Fooocus/blob/main/modules/meta_parser.py")


NAI_PROMPT = FOX + ", best quality, amazing quality, very aesthetic, absurdres"
NAI_SOURCE = "Stable Diffusion XL C1E1DE52"


def novelai_png():
    # NovelAI writes plain PNG text chunks Title/Description/Software/Source/Generation time/
    # Comment (nai_meta_writer.serialize_metadata reads exactly these back out of
    # metadata.chunks; "Title is static"). Comment is a JSON string with the request
    # parameters; "uc" is the negative prompt. Newer images also carry the same JSON
    # gzip'd in the alpha-channel LSBs ("stealth_pngcomp"); not reproduced here (RGB image).
    comment = {
        "prompt": NAI_PROMPT, "steps": 28, "height": 1216, "width": 832, "scale": 5.0,
        "uncond_scale": 0.0, "cfg_rescale": 0.0, "seed": 1234, "n_samples": 1,
        "hide_debug_overlay": False, "noise_schedule": "native", "legacy_v3_extend": False,
        "reference_information_extracted_multiple": [], "reference_strength_multiple": [],
        "sampler": "k_euler_ancestral", "controlnet_strength": 1.0, "controlnet_model": None,
        "dynamic_thresholding": False, "dynamic_thresholding_percentile": 0.999,
        "dynamic_thresholding_mimic_scale": 10.0, "sm": False, "sm_dyn": False,
        "skip_cfg_below_sigma": 0.0, "lora_unet_weights": None, "lora_clip_weights": None,
        "uc": "lowres, bad anatomy, bad hands, text, error, worst quality, jpeg artifacts, watermark",
        "request_type": "PromptGenerateRequest",
    }
    info = PngImagePlugin.PngInfo()
    info.add_text("Title", "AI generated image")
    info.add_text("Description", NAI_PROMPT)
    info.add_text("Software", "NovelAI")
    info.add_text("Source", NAI_SOURCE)
    info.add_text("Generation time", "6.494704299024306")
    info.add_text("Comment", json.dumps(comment))
    return png_bytes(info), exp(True, "novelai", "PNG tEXt Software=NovelAI + Description + Comment",
                                NAI_PROMPT, NAI_SOURCE, SRC["novelai"])


DT_MODEL = "sd_xl_base_1.0_f16.ckpt"


def drawthings_png():
    # ImageConverter.imageData (draw-things-community): ImageIO PNG properties
    #   kCGImagePropertyPNGDescription = "<prompt>\n-<negative>\nSteps: .., Sampler: .., Guidance Scale: ..,
    #       Seed: .., Size: WxH, Model: .., Strength: .., Seed Mode: .."
    #   kCGImagePropertyPNGComment     = JSONSerialization(json, .sortedKeys)  (c, uc, steps, sampler, ...)
    #   kCGImagePropertyPNGSoftware    = "Draw Things"
    # ImageIO stores these as an XMP packet in iTXt "XML:com.adobe.xmp":
    # dc:description, exif:UserComment (rdf:Alt/rdf:li with the JSON), xmp:CreatorTool.
    # Readers (sd-prompt-reader) walk exif:UserComment > rdf:Alt > rdf:li; the packet is
    # pretty-printed like ImageIO output. The "v2" sub-object (JSGenerationConfiguration)
    # that Draw Things also writes into the JSON is left out here.
    cfg = {"c": FOX, "uc": FOX_NEG, "steps": 30, "sampler": "DPM++ 2M Karras", "scale": 7.5, "seed": 1234,
           "size": "1024x1024", "model": DT_MODEL, "strength": 1, "seed_mode": "Scale Alike"}
    js = json.dumps(cfg, sort_keys=True, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
    description = (f"{FOX}\n-{FOX_NEG}\nSteps: 30, Sampler: DPM++ 2M Karras, Guidance Scale: 7.5, Seed: 1234, "
                   f"Size: 1024x1024, Model: {DT_MODEL}, Strength: 1.0, Seed Mode: Scale Alike")
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    packet = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="XMP Core 6.0.0">\n'
        '   <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
        '      <rdf:Description rdf:about=""\n'
        '            xmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '            xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
        '            xmlns:xmp="http://ns.adobe.com/xap/1.0/">\n'
        '         <dc:description>\n'
        '            <rdf:Alt>\n'
        f'               <rdf:li xml:lang="x-default">{esc(description)}</rdf:li>\n'
        '            </rdf:Alt>\n'
        '         </dc:description>\n'
        '         <exif:UserComment>\n'
        '            <rdf:Alt>\n'
        f'               <rdf:li xml:lang="x-default">{esc(js)}</rdf:li>\n'
        '            </rdf:Alt>\n'
        '         </exif:UserComment>\n'
        '         <xmp:CreatorTool>Draw Things</xmp:CreatorTool>\n'
        '      </rdf:Description>\n'
        '   </rdf:RDF>\n'
        '</x:xmpmeta>\n'
    )
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", packet)
    return png_bytes(info), exp(True, "drawthings", "PNG iTXt XML:com.adobe.xmp exif:UserComment (JSON)",
                                FOX, DT_MODEL, SRC["drawthings"])


def iptc_ai_system_jpg():
    # IPTC Photo Metadata 2025.1 AI properties (simple Text, Iptc4xmpExt namespace),
    # element form; deliberately no DigitalSourceType.
    body = ('   <Iptc4xmpExt:AISystemUsed>Midjourney v6</Iptc4xmpExt:AISystemUsed>\n'
            '   <Iptc4xmpExt:AIPromptInformation>a lighthouse at dusk</Iptc4xmpExt:AIPromptInformation>\n')
    return insert_xmp_app1(jpeg_bytes(quality=85), xmp_packet(description_body=body)), exp(
        True, "iptc-ai-fields", "XMP Iptc4xmpExt:AISystemUsed", "a lighthouse at dusk", "Midjourney v6",
        SRC["iptc"])


def iptc_dst_jpg():
    attrs = f'\n    Iptc4xmpExt:DigitalSourceType="{DST}trainedAlgorithmicMedia"'
    return insert_xmp_app1(jpeg_bytes(quality=85), xmp_packet(description_attrs=attrs)), exp(
        True, "iptc-digital-source-type", "XMP Iptc4xmpExt:DigitalSourceType", None, None, SRC["iptc-dst"])


def iptc_dst_composite_png():
    attrs = f'\n    Iptc4xmpExt:DigitalSourceType="{DST}compositeWithTrainedAlgorithmicMedia"'
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet(description_attrs=attrs).decode("utf-8"))
    return png_bytes(info), exp(True, "iptc-digital-source-type",
                                "PNG iTXt XML:com.adobe.xmp Iptc4xmpExt:DigitalSourceType", None, None,
                                SRC["iptc-dst"])


# ---- negative controls ---------------------------------------------------

def photo_camera_jpg():
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS R5",
                piexif.ImageIFD.DateTime: b"2024:06:01 18:42:07"},
        "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2024:06:01 18:42:07",
                 piexif.ExifIFD.ExposureTime: (1, 250), piexif.ExifIFD.FNumber: (56, 10),
                 piexif.ExifIFD.ISOSpeedRatings: 200, piexif.ExifIFD.FocalLength: (50, 1),
                 piexif.ExifIFD.LensModel: b"RF50mm F1.8 STM"},
        "GPS": {piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0),
                piexif.GPSIFD.GPSLatitudeRef: b"N", piexif.GPSIFD.GPSLatitude: ((53, 1), (33, 1), (1234, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"E", piexif.GPSIFD.GPSLongitude: ((9, 1), (59, 1), (4321, 100))},
    })
    return piexif_insert(exif, jpeg_bytes(quality=90)), exp(False, None, None, None, None, SRC["exif"])


def photo_usercomment_jpg():
    text = "Steps to the old lighthouse, taken on a windy day. Negative space above."
    exif = piexif.dump({
        "0th": {piexif.ImageIFD.Make: b"Canon", piexif.ImageIFD.Model: b"Canon EOS R5"},
        "Exif": {piexif.ExifIFD.UserComment: piexif.helper.UserComment.dump(text, encoding="ascii")},
    })
    return piexif_insert(exif, jpeg_bytes(quality=90)), exp(
        False, None, None, None, None, SRC["exif"],
        note="prose mentioning 'Steps' and 'Negative', not in A1111 layout (no 'Steps: n,' settings line)")


def png_unrelated_text_png():
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Scanned at 600 dpi")
    info.add_text("Software", "GIMP 2.10")
    return png_bytes(info), exp(False, None, None, None, None, SRC["png"])


def png_parameters_prose_png():
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", "exposure +0.3, contrast 10")
    return png_bytes(info), exp(False, None, None, None, None, SRC["a1111"],
                                note="'parameters' keyword alone is not evidence; text is not A1111 layout")


def iptc_dst_photo_jpg():
    attrs = f'\n    Iptc4xmpExt:DigitalSourceType="{DST}digitalCapture"'
    return insert_xmp_app1(jpeg_bytes(quality=85), xmp_packet(description_attrs=attrs)), exp(
        False, None, None, None, None, SRC["iptc-dst"])


# ---- hostile ---------------------------------------------------------------

def big_parameters_png(size=10 * 1024 * 1024):
    """~10 MB uncompressed tEXt 'parameters': A1111 prompt repeated, then the settings."""
    unit = FOX + ", "
    prompt = unit * ((size - 400) // len(unit))
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", a1111_infotext(prompt=prompt))
    return png_bytes(info)


def hostile_invalid_utf8_png():
    # iTXt: keyword \0 compression-flag compression-method language \0 translated-keyword \0 text
    text = (b"a red fox \xc3\x28 in a snowy forest \xff\xfe golden hour \xed\xa0\x80\n"
            b"Negative prompt: " + FOX_NEG.encode() + b"\n" + A1111_PARAMS.encode())
    chunk = png_chunk(b"iTXt", b"parameters\x00" + b"\x00\x00" + b"\x00" + b"\x00" + text)
    return insert_after_ihdr(png_bytes(), chunk), exp(
        None, None, "PNG iTXt parameters (invalid UTF-8)", None, None, SRC["png"],
        note="must not crash; rejecting the chunk or a lossy decode (then a1111-parameters) are both fine")


def hostile_ztxt_bomb_png(inflated=1 << 30):
    # zTXt: keyword \0 method(0) zlib-stream. Inflates to 1 GiB: an A1111 header then spaces.
    co = zlib.compressobj(9)
    parts = [co.compress(a1111_infotext().encode() + b"\n")]
    block = b" " * (1 << 20)
    for _ in range(inflated // len(block)):
        parts.append(co.compress(block))
    parts.append(co.flush())
    stream = b"".join(parts)
    chunk = png_chunk(b"zTXt", b"parameters\x00\x00" + stream)
    return insert_after_ihdr(png_bytes(), chunk), exp(
        None, None, "PNG zTXt parameters (inflates to 1 GiB)", None, None, SRC["png"],
        note="must not inflate without a cap; ignoring it or detecting from a capped prefix are both fine")


def hostile_bad_crc_png():
    raw = bytearray(png_chunk(b"tEXt", b"parameters\x00" + a1111_infotext().encode("latin-1")))
    raw[-4:] = bytes(b ^ 0xFF for b in raw[-4:])
    return insert_after_ihdr(png_bytes(), bytes(raw)), exp(
        None, None, "PNG tEXt parameters (wrong CRC)", None, None, SRC["png"],
        note="must not crash; dropping the chunk (not AI) or ignoring the CRC (a1111-parameters) are both fine")


def hostile_truncated_png():
    # IHDR, IDAT (complete), then a tEXt 'parameters' chunk cut in the middle of its
    # data: no CRC, no IEND. The length field points past the end of the file.
    chunks = split_png(png_bytes())
    body = b"".join(c for t, c in chunks if t in (b"IHDR", b"IDAT"))
    text = png_chunk(b"tEXt", b"parameters\x00" + a1111_infotext().encode("latin-1"))
    data = b"\x89PNG\r\n\x1a\n" + body + text[: 8 + len(text[8:-4]) // 2]
    return data, exp(None, None, "PNG tEXt parameters (file ends inside the chunk)", None, None, SRC["png"],
                     note="must not read past the end; an error or not-AI is expected")


FIXTURES = [
    ("a1111.png", a1111_png),
    ("a1111-itxt.png", a1111_itxt_png),
    ("a1111-ztxt.png", a1111_ztxt_png),
    ("a1111.jpg", a1111_jpg),
    ("a1111-ascii.jpg", a1111_ascii_jpg),
    ("comfyui.png", comfyui_png),
    ("invokeai.png", invokeai_png),
    ("invokeai-v3.png", invokeai_v3_png),
    ("invokeai-legacy.png", invokeai_legacy_png),
    ("fooocus.png", fooocus_png),
    ("fooocus.jpg", fooocus_jpg),
    ("novelai.png", novelai_png),
    ("drawthings.png", drawthings_png),
    ("iptc-ai-system.jpg", iptc_ai_system_jpg),
    ("iptc-dst.jpg", iptc_dst_jpg),
    ("iptc-dst-composite.png", iptc_dst_composite_png),
    ("photo-camera.jpg", photo_camera_jpg),
    ("photo-usercomment.jpg", photo_usercomment_jpg),
    ("png-unrelated-text.png", png_unrelated_text_png),
    ("png-parameters-prose.png", png_parameters_prose_png),
    ("iptc-dst-photo.jpg", iptc_dst_photo_jpg),
    ("hostile-invalid-utf8.png", hostile_invalid_utf8_png),
    ("hostile-ztxt-bomb.png", hostile_ztxt_bomb_png),
    ("hostile-bad-crc.png", hostile_bad_crc_png),
    ("hostile-truncated.png", hostile_truncated_png),
]


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", default=DEFAULT_OUT)
    ap.add_argument("--big-parameters", metavar="PATH",
                    help="also write the ~10 MB hostile tEXt file to PATH (kept out of the repo)")
    args = ap.parse_args(argv)

    os.makedirs(args.out, exist_ok=True)
    expected = []
    for name, build in FIXTURES:
        data, entry = build()
        with open(os.path.join(args.out, name), "wb") as f:
            f.write(data)
        expected.append({"file": name, **entry})
        print(f"{len(data):>9}  {name}")
    with open(os.path.join(args.out, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"{'':>9}  expected.json ({len(expected)} entries)")

    if args.big_parameters:
        data = big_parameters_png()
        with open(args.big_parameters, "wb") as f:
            f.write(data)
        print(f"{len(data):>9}  {args.big_parameters}")


if __name__ == "__main__":
    main(sys.argv[1:])
