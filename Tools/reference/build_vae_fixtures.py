"""Another VAE for the tiny SD1 pipeline (what a user's `vae:` / `--vae` swaps in: the SD 1.5
ft-MSE VAE, SDXL's fp16-fix VAE), as a diffusers folder and as an original-layout single file
(`encoder.down.0.block.0…`, no prefix, as vae-ft-mse-840000-ema-pruned.safetensors is laid out),
with diffusers' outputs when the pipeline's VAE is replaced by it: Tests/Fixtures/vae-choice/.

Run in the reference venv (see README.md):
    ../stockwerk-reference-venv/bin/python Tools/reference/build_vae_fixtures.py
"""
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_fixtures import PIPELINE_NEGATIVE, PIPELINE_PROMPT, ROOT, ldm_vae_name, versions  # noqa: E402

OUT = os.path.join(ROOT, "Tests", "Fixtures", "vae-choice")


def build():
    import diffusers
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    pipe = StableDiffusionPipeline.from_pretrained(os.path.join(ROOT, "Tests", "Fixtures", "pipelines", "tiny-sd1"),
                                                   safety_checker=None, requires_safety_checker=False)
    torch.manual_seed(41)
    # The tiny model's VAE config without diffusers' private keys (`_name_or_path` is a path of this machine).
    vae = AutoencoderKL.from_config({k: v for k, v in pipe.vae.config.items() if not k.startswith("_")}).eval()
    with torch.no_grad():
        for parameter in vae.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    vae.save_pretrained(os.path.join(OUT, "other-vae"), safe_serialization=True)
    levels = len(vae.config.block_out_channels)
    single = {}
    for name, value in vae.state_dict().items():
        if ".mid_block.attentions." in name and name.endswith(".weight") and value.dim() == 2:
            value = value[:, :, None, None]
        single[ldm_vae_name(name, levels)] = value.contiguous().clone()
    save_file(single, os.path.join(OUT, "other-vae.safetensors"))
    pipe.vae = AutoencoderKL.from_pretrained(os.path.join(OUT, "other-vae"))
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    args = dict(prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, num_inference_steps=5, guidance_scale=7.5, height=16, width=16)
    with torch.no_grad():
        latents = pipe(generator=torch.Generator().manual_seed(4100), output_type="latent", **args).images
        image = pipe(generator=torch.Generator().manual_seed(4100), output_type="pt", **args).images
    metadata = dict(versions(), diffusers=diffusers.__version__, prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, steps="5", sampler="ddim")
    save_file({"txt2img.latents": latents, "txt2img.image": image.contiguous(), "txt2img.seed": torch.tensor([4100.0])},
              os.path.join(OUT, "expected.safetensors"), metadata=metadata)
    print("done")


if __name__ == "__main__":
    build()
