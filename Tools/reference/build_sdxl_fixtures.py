"""Tiny random-weight SDXL pipelines (base and refiner) saved in diffusers layout under
Tests/Fixtures/pipelines/, with diffusers' outputs for Stockwerk's SDXL tests.

The shapes follow diffusers' own SDXL test configs (tests/pipelines/stable_diffusion_xl/): two
text towers (a CLIP-L-like one with quick-GELU, a bigG-like one with GELU and a text projection,
of different widths so a swapped concatenation cannot pass), a UNet with no attention on its first
level, transformer depth per level, linear projections and "text_time" added conditioning; the
refiner has only the second tower and conditions on the aesthetic score.

Run it like build_fixtures.py, in the reference venv outside the repository:
    ../stockwerk-reference-venv/bin/python Tools/reference/build_sdxl_fixtures.py
"""
import os
import shutil
import sys

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from build_fixtures import (PIPELINE_NEGATIVE, PIPELINE_PROMPT, PIPELINE_SAMPLERS, ROOT, ldm_unet_name, ldm_vae_name,  # noqa: E402
                            tiny_clip_tokenizer, versions)

PIPELINES = os.path.join(ROOT, "Tests", "Fixtures", "pipelines")
POOLED = 24     # text_encoder_2's projection width
TIME_DIM = 8    # addition_time_embed_dim


def text_tower(seed, width, layers, act, projection):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection
    torch.manual_seed(seed)
    config = CLIPTextConfig(vocab_size=1000, hidden_size=width, intermediate_size=width + 13, num_hidden_layers=layers,
                            num_attention_heads=4, max_position_embeddings=77, hidden_act=act, layer_norm_eps=1e-5,
                            bos_token_id=998, eos_token_id=999, pad_token_id=1, projection_dim=POOLED)
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config).eval()


def unet(seed, cross_attention_dim, time_ids):
    from diffusers import UNet2DConditionModel
    torch.manual_seed(seed)
    return UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(16, 32),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        attention_head_dim=(2, 4), use_linear_projection=True, transformer_layers_per_block=(1, 2),
        addition_embed_type="text_time", addition_time_embed_dim=TIME_DIM,
        projection_class_embeddings_input_dim=time_ids * TIME_DIM + POOLED,
        cross_attention_dim=cross_attention_dim, norm_num_groups=8).eval()


def vae(seed):
    from diffusers import AutoencoderKL
    torch.manual_seed(seed)
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 2,
                         up_block_types=["UpDecoderBlock2D"] * 2, block_out_channels=[16, 32], layers_per_block=1,
                         latent_channels=4, norm_num_groups=8, sample_size=16, scaling_factor=0.13025).eval()


def scheduler():
    from diffusers import EulerDiscreteScheduler
    chosen = EulerDiscreteScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                    steps_offset=1, timestep_spacing="leading", prediction_type="epsilon")
    # SDXL's published scheduler_config.json carries DDIM's keys too, so that switching to DDIM
    # neither clips samples nor sets the final alpha to one (DDIMScheduler's defaults otherwise).
    chosen.register_to_config(clip_sample=False, set_alpha_to_one=False, sample_max_value=1.0, skip_prk_steps=True)
    return chosen


def widen(*models):
    """Random init leaves norms near 1/0 and biases near 0: widen every weight so all paths matter."""
    with torch.no_grad():
        for model in models:
            for parameter in model.parameters():
                parameter.add_(torch.randn_like(parameter) * 0.05)


def tiny_pipelines():
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
    encoder_1 = text_tower(20, 32, 2, "quick_gelu", projection=False)
    encoder_2 = text_tower(21, 40, 3, "gelu", projection=True)
    base_unet, refiner_unet = unet(22, 32 + 40, 6), unet(23, 40, 5)
    base_vae = vae(24)
    widen(encoder_1, encoder_2, base_unet, refiner_unet, base_vae)
    tokenizer_1, tokenizer_2 = tiny_clip_tokenizer("<|endoftext|>"), tiny_clip_tokenizer("!")
    base = StableDiffusionXLPipeline(vae=base_vae, text_encoder=encoder_1, text_encoder_2=encoder_2, tokenizer=tokenizer_1,
                                     tokenizer_2=tokenizer_2, unet=base_unet, scheduler=scheduler(), force_zeros_for_empty_prompt=True)
    refiner = StableDiffusionXLImg2ImgPipeline(vae=base_vae, text_encoder=None, text_encoder_2=encoder_2, tokenizer=None,
                                               tokenizer_2=tokenizer_2, unet=refiner_unet, scheduler=scheduler(),
                                               requires_aesthetics_score=True, force_zeros_for_empty_prompt=False)
    return base, refiner


def generator(seed):
    return torch.Generator("cpu").manual_seed(seed)


def record(tensors, key, seed, run, **numbers):
    """Both outputs of `run(output_type)` (fresh generator each) under KEY.latents / KEY.image."""
    with torch.no_grad():
        tensors[key + ".latents"] = run("latent").images
        tensors[key + ".image"] = run("pt").images
    tensors[key + ".seed"] = torch.tensor([float(seed)])
    for name, value in numbers.items():
        tensors[f"{key}.{name}"] = torch.tensor([float(value)])


def build():
    import diffusers
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
    base, refiner = tiny_pipelines()
    base_folder, refiner_folder = os.path.join(PIPELINES, "tiny-sdxl"), os.path.join(PIPELINES, "tiny-sdxl-refiner")
    for folder in (base_folder, refiner_folder):
        shutil.rmtree(folder, ignore_errors=True)
    base.save_pretrained(base_folder, safe_serialization=True)
    refiner.save_pretrained(refiner_folder, safe_serialization=True)
    base = StableDiffusionXLPipeline.from_pretrained(base_folder)
    refiner = StableDiffusionXLImg2ImgPipeline.from_pretrained(refiner_folder)
    base_config = dict(base.scheduler.config)
    img2img = StableDiffusionXLImg2ImgPipeline(**base.components)
    tensors = {}
    init_image = torch.rand((1, 3, 16, 16), generator=generator(77)) * 2 - 1
    tensors["init_image"] = init_image
    common = dict(prompt=PIPELINE_PROMPT, num_inference_steps=5)
    seed = 2000
    for sampler, (cls_name, extra) in PIPELINE_SAMPLERS.items():
        chosen = getattr(diffusers, cls_name).from_config(dict(base_config, **extra))
        base.scheduler = img2img.scheduler = chosen
        for guidance in (0.0, 7.5):
            seed += 1
            record(tensors, f"txt2img.{sampler}.{guidance:g}", seed,
                   lambda kind: base(negative_prompt=PIPELINE_NEGATIVE, guidance_scale=guidance, height=16, width=16,
                                     generator=generator(seed), output_type=kind, **common))
        seed += 1
        record(tensors, f"img2img.{sampler}.7.5", seed,
               lambda kind: img2img(negative_prompt=PIPELINE_NEGATIVE, guidance_scale=7.5, image=(init_image + 1) / 2, strength=0.6,
                                    generator=generator(seed), output_type=kind, **common), strength=0.6)
    base.scheduler = diffusers.EulerDiscreteScheduler.from_config(base_config)
    # No negative prompt: force_zeros_for_empty_prompt makes the unconditional half zeros.
    seed += 1
    record(tensors, "zeros-negative", seed,
           lambda kind: base(guidance_scale=7.5, height=16, width=16, generator=generator(seed), output_type=kind, **common))
    # Micro-conditioning away from the defaults: another original size and a crop, 16×24 pixels.
    seed += 1
    record(tensors, "micro", seed,
           lambda kind: base(negative_prompt=PIPELINE_NEGATIVE, guidance_scale=7.5, height=16, width=24, original_size=(1024, 768),
                             crops_coords_top_left=(4, 8), generator=generator(seed), output_type=kind, **common))
    # SDXL-Turbo's way: Euler ancestral on trailing timesteps, one step, no guidance.
    turbo = diffusers.EulerAncestralDiscreteScheduler.from_config(dict(base_config, timestep_spacing="trailing"))
    base.scheduler = turbo
    seed += 1
    record(tensors, "turbo", seed,
           lambda kind: base(prompt=PIPELINE_PROMPT, num_inference_steps=1, guidance_scale=0.0, height=16, width=16,
                             generator=generator(seed), output_type=kind))
    base.scheduler = diffusers.EulerDiscreteScheduler.from_config(base_config)
    # The refiner alone on an image (aesthetic score 6 and 2.5, an encoded negative prompt)...
    seed += 1
    record(tensors, "refiner", seed,
           lambda kind: refiner(negative_prompt=PIPELINE_NEGATIVE, guidance_scale=5.0, image=(init_image + 1) / 2, strength=0.3,
                                generator=generator(seed), output_type=kind, **common), strength=0.3)
    # ... and the hand-over: the base runs the first 80 % of 10 steps, the refiner the rest from its latents.
    seed += 1
    with torch.no_grad():
        handed = base(negative_prompt=PIPELINE_NEGATIVE, guidance_scale=7.5, height=16, width=16, num_inference_steps=10,
                      denoising_end=0.8, generator=generator(seed), output_type="latent", prompt=PIPELINE_PROMPT).images
    tensors["handover.base_latents"] = handed
    record(tensors, "handover", seed,
           lambda kind: refiner(prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, guidance_scale=7.5, num_inference_steps=10,
                                denoising_start=0.8, image=handed, generator=generator(seed + 1), output_type=kind))
    # The conditioning itself: both towers' states and the pooled embeds, prompt and negative.
    with torch.no_grad():
        embeds, negative, pooled, negative_pooled = base.encode_prompt(PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE,
                                                                       do_classifier_free_guidance=True)
    tensors.update({"encode.prompt": embeds, "encode.negative": negative, "encode.pooled": pooled, "encode.negative_pooled": negative_pooled})
    metadata = dict(versions(), diffusers=diffusers.__version__, prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, steps="5")
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(base_folder, "expected.safetensors"), metadata=metadata)
    print(len(tensors), "tensors")


def open_clip_tensors(encoder, prefix):
    """transformers' CLIPTextModelWithProjection as the OpenCLIP tower SDXL files hold: fused
    q/k/v, OpenCLIP names, and the projection stored transposed (x @ text_projection)."""
    text = {k.removeprefix("text_model."): v for k, v in encoder.state_dict().items()}
    tensors = {prefix + "token_embedding.weight": text["embeddings.token_embedding.weight"],
               prefix + "positional_embedding": text["embeddings.position_embedding.weight"],
               prefix + "ln_final.weight": text["final_layer_norm.weight"], prefix + "ln_final.bias": text["final_layer_norm.bias"],
               prefix + "text_projection": text["text_projection.weight"].T}
    for i in range(encoder.config.num_hidden_layers):
        p, b = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        for field in ("weight", "bias"):
            tensors[b + "attn.in_proj_" + field] = torch.cat([text[p + f"self_attn.{x}_proj.{field}"] for x in "qkv"])
            for ours, theirs in [("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                                 ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]:
                tensors[b + theirs + "." + field] = text[p + ours + "." + field]
    return tensors


def ldm_sdxl_checkpoint(pipe):
    """The pipeline as one original-layout SDXL file (sd_xl_base_1.0.safetensors, Civitai's XL
    fine-tunes): the UNet and VAE as in SD files plus label_emb (the added conditioning), the
    first tower under conditioner.embedders.0.transformer (transformers names), the second as
    OpenCLIP under conditioner.embedders.1.model; the refiner's one tower is embedders.0.model."""
    tensors = {}
    config = pipe.unet.config
    attention_levels = {i for i, t in enumerate(config.up_block_types) if t.startswith("CrossAttn")}
    for name, value in pipe.unet.state_dict().items():
        if name.startswith("add_embedding."):
            ldm = name.replace("add_embedding.linear_1", "label_emb.0.0").replace("add_embedding.linear_2", "label_emb.0.2")
        else:
            ldm = ldm_unet_name(name, config.layers_per_block, attention_levels)
        tensors["model.diffusion_model." + ldm] = value
    levels = len(pipe.vae.config.block_out_channels)
    for name, value in pipe.vae.state_dict().items():
        if ".mid_block.attentions." in name and name.endswith(".weight") and value.dim() == 2:
            value = value[:, :, None, None]
        tensors["first_stage_model." + ldm_vae_name(name, levels)] = value
    if pipe.text_encoder is not None:
        for name, value in pipe.text_encoder.state_dict().items():
            # Real files keep transformers' older `text_model.` level (newer transformers drop it).
            tensors["conditioner.embedders.0.transformer.text_model." + name.removeprefix("text_model.")] = value
        tensors.update(open_clip_tensors(pipe.text_encoder_2, "conditioner.embedders.1.model."))
    else:
        tensors.update(open_clip_tensors(pipe.text_encoder_2, "conditioner.embedders.0.model."))
    return {k: v.contiguous().clone() for k, v in tensors.items()}


def build_single_files():
    """tiny-sdxl.safetensors and tiny-sdxl-refiner.safetensors; diffusers' from_single_file (with
    the folders' configs) must load each back to the same outputs, which proves the layout."""
    import diffusers
    from diffusers import StableDiffusionXLImg2ImgPipeline, StableDiffusionXLPipeline
    expected = safe_open_all(os.path.join(PIPELINES, "tiny-sdxl", "expected.safetensors"))
    for name, cls, key in [("tiny-sdxl", StableDiffusionXLPipeline, "txt2img.euler.7.5"), ("tiny-sdxl-refiner", StableDiffusionXLImg2ImgPipeline, "refiner")]:
        folder = os.path.join(PIPELINES, name)
        path = folder + ".safetensors"
        save_file(ldm_sdxl_checkpoint(cls.from_pretrained(folder)), path, metadata={"format": "pt"})
        pipe = cls.from_single_file(path, config=folder)
        seed = int(expected[key + ".seed"].item())
        args = dict(prompt=PIPELINE_PROMPT, negative_prompt=PIPELINE_NEGATIVE, num_inference_steps=5, generator=generator(seed), output_type="latent")
        if name == "tiny-sdxl":
            args.update(guidance_scale=7.5, height=16, width=16)
        else:
            args.update(guidance_scale=5.0, image=(expected["init_image"] + 1) / 2, strength=0.3)
        with torch.no_grad():
            latents = pipe(**args).images
        worst = (latents - expected[key + ".latents"]).abs().max().item()
        assert worst < 1e-4, f"{name}: from_single_file differs by {worst}"
        print(name, "single file reproduces the folder:", worst, "diffusers", diffusers.__version__)


def safe_open_all(path):
    from safetensors.torch import load_file
    return load_file(path)


if __name__ == "__main__":
    if sys.argv[1:] != ["single-file"]:
        build()
    build_single_files()
