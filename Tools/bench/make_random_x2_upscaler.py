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
import sys

import torch
from diffusers import EulerDiscreteScheduler, StableDiffusionLatentUpscalePipeline, UNet2DConditionModel
from random_parts import clip_text_encoder, clip_tokenizer, sd_vae

out = sys.argv[1]
tokenizer = clip_tokenizer()
torch.manual_seed(0)
text_encoder = clip_text_encoder()
unet = UNet2DConditionModel(
    act_fn="gelu", attention_head_dim=64, norm_num_groups=None, block_out_channels=[256, 256, 512, 512], layers_per_block=2,
    time_cond_proj_dim=896, conv_in_kernel=1, conv_out_kernel=1, cross_attention_dim=768,
    down_block_types=("KDownBlock2D", "KCrossAttnDownBlock2D", "KCrossAttnDownBlock2D", "KCrossAttnDownBlock2D"),
    up_block_types=("KCrossAttnUpBlock2D", "KCrossAttnUpBlock2D", "KCrossAttnUpBlock2D", "KUpBlock2D"),
    in_channels=8, out_channels=5, mid_block_type=None, only_cross_attention=False, resnet_time_scale_shift="scale_shift",
    time_embedding_type="fourier", timestep_post_act="gelu").eval()
print("UNet parameters:", sum(p.numel() for p in unet.parameters()))
vae = sd_vae()
scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="sample")
pipe = StableDiffusionLatentUpscalePipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler)
pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
print("wrote", out)
