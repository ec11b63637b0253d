#!/usr/bin/env python3
"""Writes a full-size x2-latent-upscaler-shaped diffusers folder (StableDiffusionLatentUpscalePipeline)
with random weights (fp16), for timing `refine: {mode: x2-upscaler}` without the real weights, which
cannot be downloaded here. The images it makes are noise; only time and memory mean anything.

Shape: CLIP ViT-L/14 text tower (768 wide, 12 layers), the SD VAE, and the K-block UNet with
block_out_channels (256, 256, 512, 512), two layers per block, head size 64, 896-wide timestep
conditioning. The UNet widths are an assumption: the hub's unet/config.json could not be read here.
diffusers' K blocks only connect when the last two widths equal the time embedding (2 × the first
width) and the third-last differs, as in diffusers' own test config (32, 32, 64, 64); this is that
pattern at 8× the width. Printed: the parameter count.

Usage (in the reference venv): python Tools/bench/make_random_x2_upscaler.py OUT_FOLDER
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import build_fixtures  # noqa: E402  (CLIP vocabulary from presets/clip/)
import torch  # noqa: E402
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionLatentUpscalePipeline, UNet2DConditionModel  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

out = sys.argv[1]
vocab, merges = build_fixtures.clip_vocab_and_merges()
folder = tempfile.mkdtemp()
with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
    json.dump(vocab, f, ensure_ascii=False)
with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
    f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
tokenizer = CLIPTokenizer.from_pretrained(folder, model_max_length=77)
torch.manual_seed(0)
text_encoder = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                            num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu")).eval()
unet = UNet2DConditionModel(
    act_fn="gelu", attention_head_dim=64, norm_num_groups=None, block_out_channels=[256, 256, 512, 512], layers_per_block=2,
    time_cond_proj_dim=896, conv_in_kernel=1, conv_out_kernel=1, cross_attention_dim=768,
    down_block_types=("KDownBlock2D", "KCrossAttnDownBlock2D", "KCrossAttnDownBlock2D", "KCrossAttnDownBlock2D"),
    up_block_types=("KCrossAttnUpBlock2D", "KCrossAttnUpBlock2D", "KCrossAttnUpBlock2D", "KUpBlock2D"),
    in_channels=8, out_channels=5, mid_block_type=None, only_cross_attention=False, resnet_time_scale_shift="scale_shift",
    time_embedding_type="fourier", timestep_post_act="gelu").eval()
print("UNet parameters:", sum(p.numel() for p in unet.parameters()))
vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                    block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=512).eval()
scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="sample")
pipe = StableDiffusionLatentUpscalePipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler)
pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
print("wrote", out)
