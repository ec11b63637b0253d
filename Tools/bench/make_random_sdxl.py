#!/usr/bin/env python3
"""Writes a full-size SDXL base diffusers folder with random weights in fp16 (as the published
fp16 files are: UNet 5.1 GB, the two text encoders 1.6 GB, the VAE 0.17 GB), for measuring a
whole 1024² image's time and memory without real weights, which cannot be downloaded here. The
configs are the published ones (stabilityai/stable-diffusion-xl-base-1.0); the images are noise.

Usage (in the reference venv): python Tools/bench/make_random_sdxl.py OUT_FOLDER
"""
import sys

import torch
from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel
from random_parts import clip_text_encoder, clip_tokenizer
from transformers import CLIPTextConfig, CLIPTextModelWithProjection

out = sys.argv[1]
torch.manual_seed(0)
# Each part is made in fp32 and halved at once, so the fp32 UNet (10.3 GB) is never beside the rest.
text_encoder = clip_text_encoder().half()
text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(
    vocab_size=49408, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32, num_attention_heads=20,
    max_position_embeddings=77, hidden_act="gelu", projection_dim=1280)).eval().half()
unet = UNet2DConditionModel(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(5, 10, 20),
    cross_attention_dim=2048, use_linear_projection=True, transformer_layers_per_block=(1, 2, 10),
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816).eval().half()
vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                    block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=1024,
                    scaling_factor=0.13025, force_upcast=True).eval().half()
scheduler = EulerDiscreteScheduler(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                   steps_offset=1, timestep_spacing="leading", prediction_type="epsilon")
tokenizer = clip_tokenizer()
tokenizer_2 = clip_tokenizer()
tokenizer_2.pad_token = "!"
pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
                                 tokenizer_2=tokenizer_2, unet=unet, scheduler=scheduler, force_zeros_for_empty_prompt=True)
pipe.save_pretrained(out, safe_serialization=True)
print("wrote", out)
