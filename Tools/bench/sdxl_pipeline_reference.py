"""diffusers' side of the whole-image SDXL benchmark: one 1024² txt2img of STEPS steps (Euler,
guidance 7.5, seed 0) from a diffusers folder (make_random_sdxl.py), 2 threads, in one of:
  fp32           weights and compute in fp32
  bf16-autocast  fp32 weights, products in bf16 under torch.autocast (the issue's reference)
  bf16           weights and compute in bf16 (torch_dtype=torch.bfloat16)
Prints the load time, each step and the whole generation; run under /usr/bin/time for peak RSS.
Usage: python sdxl_pipeline_reference.py FOLDER STEPS fp32|bf16-autocast|bf16"""
import contextlib
import sys
import time

import torch
from diffusers import StableDiffusionXLPipeline

folder, steps, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(2)
begin = time.perf_counter()
pipe = StableDiffusionXLPipeline.from_pretrained(folder, torch_dtype=torch.bfloat16 if mode == "bf16" else torch.float32)
print(f"diffusers {mode}: loaded in {time.perf_counter() - begin:.1f} s")
last = time.perf_counter()


def each_step(pipeline, step, timestep, kwargs):
    global last
    now = time.perf_counter()
    print(f"diffusers {mode}: step {step + 1}/{steps}: {now - last:.2f} s", flush=True)
    last = now
    return kwargs


context = torch.autocast("cpu", dtype=torch.bfloat16) if mode == "bf16-autocast" else contextlib.nullcontext()
begin = last = time.perf_counter()
with torch.no_grad(), context:
    image = pipe("a lighthouse on a cliff at dawn, photo", negative_prompt="blurry", height=1024, width=1024, num_inference_steps=steps,
                 guidance_scale=7.5, generator=torch.Generator("cpu").manual_seed(0), callback_on_step_end=each_step).images[0]
print(f"diffusers {mode}: VAE decode and output {time.perf_counter() - last:.2f} s; whole image {time.perf_counter() - begin:.1f} s ({image.size})")
