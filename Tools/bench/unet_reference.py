"""diffusers' side of the UNet-step benchmark: the full-size SD 1.5 UNet with random weights (made
in-process), guided steps (batch 2) at SIZE² pixels, fp32, 2 threads.
Usage: python unet_reference.py STEPS [SIZE]"""
import sys
import time

import torch
from diffusers import UNet2DConditionModel

torch.set_num_threads(2)
steps = int(sys.argv[1])
size = int(sys.argv[2]) if len(sys.argv) > 2 else 512
torch.manual_seed(0)
begin = time.perf_counter()
unet = UNet2DConditionModel(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8).eval()
print(f"diffusers: built random SD 1.5 UNet in {time.perf_counter() - begin:.1f} s")
latent = torch.randn(2, 4, size // 8, size // 8)
context = torch.randn(2, 77, 768)
with torch.no_grad():
    for step in range(steps):
        begin = time.perf_counter()
        out = unet(latent, 999 - step * 50, encoder_hidden_states=context).sample
        print(f"diffusers: guided step {step + 1} at {size}x{size}: {time.perf_counter() - begin:.2f} s (output {list(out.shape)})")
