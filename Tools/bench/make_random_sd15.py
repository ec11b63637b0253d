#!/usr/bin/env python3
"""Writes a full-size SD 1.5-shaped diffusers folder with random weights (fp16), for timing the
whole workflow — generate, refine, finish — without real weights, which cannot be downloaded
here. The images it makes are noise; only time and memory mean anything.

Usage (in the reference venv): python Tools/bench/make_random_sd15.py OUT_FOLDER
"""
import sys

import torch
from diffusers import DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
from random_parts import clip_text_encoder, clip_tokenizer, sd_vae

out = sys.argv[1]
tokenizer = clip_tokenizer()
torch.manual_seed(0)
text_encoder = clip_text_encoder()
unet = UNet2DConditionModel(sample_size=64, cross_attention_dim=768, attention_head_dim=8).eval()
vae = sd_vae()
scheduler = DDIMScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                          steps_offset=1, clip_sample=False, set_alpha_to_one=False)
pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                               safety_checker=None, feature_extractor=None, requires_safety_checker=False)
pipe.to(torch.float16).save_pretrained(out, safe_serialization=True)
print("wrote", out)
