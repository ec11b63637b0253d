"""diffusers' side of the x2-upscaler benchmark: StableDiffusionLatentUpscalePipeline from FOLDER
(loaded as float32) on random LOW_RES² latents, guidance 0, STEPS steps: seconds per step, then
the VAE decode. fp32, 2 threads. Same work as `StockwerkBench x2-upscaler`.
Usage: python x2_upscaler_reference.py FOLDER LOW_RES STEPS"""
import sys
import time

import torch
from diffusers import StableDiffusionLatentUpscalePipeline

torch.set_num_threads(2)
folder, low, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
begin = time.perf_counter()
pipe = StableDiffusionLatentUpscalePipeline.from_pretrained(folder, torch_dtype=torch.float32)
pipe.set_progress_bar_config(disable=True)
print(f"diffusers: loaded the x2 upscaler in {time.perf_counter() - begin:.1f} s")
latents = torch.randn((1, 4, low, low), generator=torch.Generator("cpu").manual_seed(0))
marks = [time.perf_counter()]


def step_done(step, timestep, _latents):
    marks.append(time.perf_counter())
    print(f"diffusers: step {step + 1}/{steps} at {2 * low}² latents: {marks[-1] - marks[-2]:.2f} s")


with torch.no_grad():
    image = pipe(prompt="a lighthouse on a cliff at dawn, photo", image=latents, num_inference_steps=steps, guidance_scale=0,
                 generator=torch.Generator("cpu").manual_seed(0), output_type="pt", callback=step_done).images
print(f"diffusers: VAE decode {list(image.shape)}: {time.perf_counter() - marks[-1]:.2f} s; whole upscale {time.perf_counter() - marks[0]:.1f} s")
