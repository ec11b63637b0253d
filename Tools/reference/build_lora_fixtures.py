"""Tiny random LoRAs for the committed tiny SD1 and SDXL pipelines, in the two layouts found in
the wild, with diffusers' outputs (load_lora_weights, then the adapters at their weights):

- kohya-ss / A1111 (what Civitai serves): `lora_unet_<module>.lora_down.weight`, `.lora_up.weight`
  and `.alpha` (scale alpha/rank), text encoders under `lora_te_` (SDXL: `lora_te1_`, `lora_te2_`);
  SD 1.x module names are diffusers' with `_` for `.`, SDXL's are the original UNet's
  (`input_blocks_4_1_…`), as kohya trains each; LoCon adds the ResNets' 3×3 convolutions.
- diffusers / PEFT: `unet.<module>.lora_A.weight`, `.lora_B.weight`, `text_encoder.…` (alpha = rank).

Writes Tests/Fixtures/loras/*.safetensors and Tests/Fixtures/loras/expected.safetensors.
Run in the reference venv (see README.md; needs `peft`):
    ../stockwerk-reference-venv/bin/python Tools/reference/build_lora_fixtures.py
"""
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_fixtures import PIPELINE_NEGATIVE, PIPELINE_PROMPT, ROOT, ldm_unet_name, versions  # noqa: E402

PIPELINES = os.path.join(ROOT, "Tests", "Fixtures", "pipelines")
LORAS = os.path.join(ROOT, "Tests", "Fixtures", "loras")
UNET_TARGETS = ("attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0",
                "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2")
CONV_TARGETS = ("conv1", "conv2")
TEXT_TARGETS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2")


def modules(model, targets):
    """(name, module) of the layers a LoRA adapts: linears and convolutions whose names end in a target."""
    for name, module in model.named_modules():
        if isinstance(module, (torch.nn.Linear, torch.nn.Conv2d)) and name.endswith(targets):
            yield name, module


def factors(module, rank, generator):
    """Random down and up factors for one layer, shaped as LoRAs store them."""
    if isinstance(module, torch.nn.Conv2d):
        down = torch.randn((rank, module.in_channels) + module.kernel_size, generator=generator) * 0.2
        up = torch.randn((module.out_channels, rank, 1, 1), generator=generator) * 0.2
    else:
        down = torch.randn((rank, module.in_features), generator=generator) * 0.2
        up = torch.randn((module.out_features, rank), generator=generator) * 0.2
    return down, up


def kohya_lora(pipe, rank, alpha, seed, ldm_names):
    """A kohya-layout LoRA on the UNet (attention, projections, feed-forward, LoCon convolutions)
    and every text tower; `ldm_names`: SDXL's original-UNet module names."""
    generator = torch.Generator().manual_seed(seed)
    config = pipe.unet.config
    attention_levels = {i for i, t in enumerate(config.up_block_types) if t.startswith("CrossAttn")}
    out = {}

    def add(prefix, name, module):
        down, up = factors(module, rank, generator)
        key = prefix + name.replace(".", "_")
        out[key + ".lora_down.weight"], out[key + ".lora_up.weight"] = down, up
        out[key + ".alpha"] = torch.tensor(float(alpha))
    for name, module in modules(pipe.unet, UNET_TARGETS + CONV_TARGETS):
        add("lora_unet_", ldm_unet_name(name + ".weight", config.layers_per_block, attention_levels).removesuffix(".weight") if ldm_names else name, module)
    towers = [t for t in (pipe.text_encoder, getattr(pipe, "text_encoder_2", None)) if t is not None]
    for index, tower in enumerate(towers):
        prefix = "lora_te_" if len(towers) == 1 else f"lora_te{index + 1}_"
        for name, module in modules(tower, TEXT_TARGETS):
            add(prefix, "text_model." + name.removeprefix("text_model."), module)
    return out


def peft_lora(pipe, rank, seed):
    """A diffusers/PEFT-layout LoRA (alpha = rank) on the UNet's attention and the text encoder."""
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for component, model, targets in [("unet", pipe.unet, UNET_TARGETS), ("text_encoder", pipe.text_encoder, TEXT_TARGETS)]:
        for name, module in modules(model, targets):
            down, up = factors(module, rank, generator)
            name = name if component == "unet" else "text_model." + name.removeprefix("text_model.")
            out[f"{component}.{name}.lora_A.weight"], out[f"{component}.{name}.lora_B.weight"] = down, up
    return out


def run(pipe, seed, sdxl):
    args = dict(prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, num_inference_steps=5, guidance_scale=7.5, height=16, width=16)
    from diffusers import DDIMScheduler
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    with torch.no_grad():
        latents = pipe(generator=torch.Generator().manual_seed(seed), output_type="latent", **args).images
        image = pipe(generator=torch.Generator().manual_seed(seed), output_type="pt", **args).images
    return latents, image


def build():
    import diffusers
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    shutil.rmtree(LORAS, ignore_errors=True)
    os.makedirs(LORAS)
    load = {"sd1": lambda: StableDiffusionPipeline.from_pretrained(os.path.join(PIPELINES, "tiny-sd1"), safety_checker=None, requires_safety_checker=False),
            "sdxl": lambda: StableDiffusionXLPipeline.from_pretrained(os.path.join(PIPELINES, "tiny-sdxl"))}
    files = {"sd1-kohya": kohya_lora(load["sd1"](), rank=4, alpha=2, seed=31, ldm_names=False),
             "sd1-peft": peft_lora(load["sd1"](), rank=3, seed=32),
             "sdxl-kohya": kohya_lora(load["sdxl"](), rank=4, alpha=8, seed=33, ldm_names=True)}
    for name, tensors in files.items():
        save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(LORAS, name + ".safetensors"))
    cases = [("sd1", [("sd1-kohya", 0.8)], 4001), ("sd1", [("sd1-peft", 1.0)], 4002),
             ("sd1", [("sd1-kohya", 0.8), ("sd1-peft", 0.5)], 4003), ("sdxl", [("sdxl-kohya", 0.7)], 4004)]
    expected = {}
    for base, loras, seed in cases:
        pipe = load[base]()
        for file, _ in loras:
            pipe.load_lora_weights(os.path.join(LORAS, file + ".safetensors"), adapter_name=file.replace("-", "_"))
        pipe.set_adapters([f.replace("-", "_") for f, _ in loras], adapter_weights=[w for _, w in loras])
        key = base + "." + "+".join(f"{f}@{w:g}" for f, w in loras)
        expected[key + ".latents"], expected[key + ".image"] = run(pipe, seed, base == "sdxl")
        expected[key + ".seed"] = torch.tensor([float(seed)])
        print(key, "done")
    metadata = dict(versions(), diffusers=diffusers.__version__, prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, steps="5", sampler="ddim")
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(LORAS, "expected.safetensors"), metadata=metadata)


if __name__ == "__main__":
    build()
