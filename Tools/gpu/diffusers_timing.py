#!/usr/bin/env python3
"""diffusers' fp16 times on a CUDA GPU for the same full-size random-weight folder the GPU check
times (Tools/bench/make_random_sd15.py, make_random_sdxl.py): the guided UNet step (batch 2,
median), the VAE decode (median of 3) and a whole image (text, steps, decode), eager PyTorch, as
the issue's reference numbers were measured. Prints one JSON line.

Usage (on the GPU machine): python3 Tools/gpu/diffusers_timing.py FOLDER --size N [--steps 25]
"""
import argparse
import json
import time

import torch
from diffusers import DiffusionPipeline

parser = argparse.ArgumentParser()
parser.add_argument("folder")
parser.add_argument("--size", type=int, required=True)
parser.add_argument("--steps", type=int, default=25)
args = parser.parse_args()

pipe = DiffusionPipeline.from_pretrained(args.folder, torch_dtype=torch.float16).to("cuda")
pipe.set_progress_bar_config(disable=True)
prompt, negative = "a photo of a lighthouse on a cliff at dawn", "blurry"
step_ends = []


def on_step(pipeline, step, timestep, kwargs):
    torch.cuda.synchronize()
    step_ends.append(time.perf_counter())
    return kwargs


def image(steps, callback=None):
    return pipe(prompt, negative_prompt=negative, num_inference_steps=steps, guidance_scale=7.5, height=args.size, width=args.size,
                generator=torch.Generator("cuda").manual_seed(1), output_type="latent", callback_on_step_end=callback).images


with torch.inference_mode():
    image(2)  # kernels chosen, memory in place
    torch.cuda.synchronize()
    start = time.perf_counter()
    latents = image(args.steps, on_step)
    scaled = latents / pipe.vae.config.scaling_factor
    pipe.vae.decode(scaled.to(pipe.vae.dtype)).sample
    torch.cuda.synchronize()
    whole = time.perf_counter() - start
    steps = sorted(b - a for a, b in zip(step_ends, step_ends[1:]))
    decodes = []
    for _ in range(3):
        torch.cuda.synchronize()
        begin = time.perf_counter()
        pipe.vae.decode(scaled.to(pipe.vae.dtype)).sample
        torch.cuda.synchronize()
        decodes.append(time.perf_counter() - begin)

print(json.dumps({"model": args.folder, "reference": "diffusers fp16", "device": torch.cuda.get_device_name(), "size": args.size,
                  "steps": args.steps, "step_ms": steps[len(steps) // 2] * 1000, "decode_ms": sorted(decodes)[1] * 1000,
                  "image_s": whole, "peak_device_gb": torch.cuda.max_memory_allocated() / 1e9}, sort_keys=True))
