"""diffusers' side of the VAE benchmark: the SD 1.5 AutoencoderKL with random weights (made
in-process), one decode of a SIZE/8 latent to SIZE×SIZE (512 unless given), fp32, 2 threads.
Usage: python vae_reference.py [SIZE]"""
import sys
import time

import torch
from diffusers import AutoencoderKL

torch.set_num_threads(2)
torch.manual_seed(0)
vae = AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4,
                    up_block_types=["UpDecoderBlock2D"] * 4, block_out_channels=[128, 256, 512, 512],
                    layers_per_block=2, latent_channels=4, sample_size=512).eval()
size = int(sys.argv[1]) if len(sys.argv) > 1 else 512
latent = torch.randn(1, 4, size // 8, size // 8)
with torch.no_grad():
    begin = time.perf_counter()
    image = vae.decode(latent / 0.18215).sample
print(f"diffusers: VAE decode {size}x{size}: {time.perf_counter() - begin:.2f} s (output {list(image.shape)})")
