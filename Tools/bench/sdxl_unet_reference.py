"""diffusers' side of the SDXL UNet-step benchmark: the full-size SDXL base UNet (the published
config) with random weights made in-process, guided steps (batch 2, pooled text embeds and six
time ids per sample) at SIZE² pixels, fp32 (or bf16 autocast with `bf16`), 2 threads.
Usage: python sdxl_unet_reference.py STEPS [SIZE] [bf16]"""
import contextlib
import sys
import time

import torch
from diffusers import UNet2DConditionModel

torch.set_num_threads(2)
steps = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
bf16 = len(sys.argv) > 3 and sys.argv[3] == "bf16"
torch.manual_seed(0)
begin = time.perf_counter()
unet = UNet2DConditionModel(
    sample_size=128, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"), attention_head_dim=(5, 10, 20),
    cross_attention_dim=2048, use_linear_projection=True, transformer_layers_per_block=(1, 2, 10),
    addition_embed_type="text_time", addition_time_embed_dim=256, projection_class_embeddings_input_dim=2816).eval()
print(f"diffusers: built random SDXL UNet in {time.perf_counter() - begin:.1f} s")
latent = torch.randn(2, 4, size // 8, size // 8)
context = torch.randn(2, 77, 2048)
added = {"text_embeds": torch.randn(2, 1280), "time_ids": torch.tensor([[size, size, 0, 0, size, size]] * 2, dtype=torch.float32)}
precision = torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
with torch.no_grad(), precision:
    for step in range(steps):
        begin = time.perf_counter()
        out = unet(latent, 999 - step * 50, encoder_hidden_states=context, added_cond_kwargs=added).sample
        print(f"diffusers{' bf16' if bf16 else ''}: guided step {step + 1} at {size}x{size}: {time.perf_counter() - begin:.2f} s (output {list(out.shape)})")
