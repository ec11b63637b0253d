"""bf16 accuracy on a full-size SD 1.5 folder (Tools/bench/make_random_sd15.py): diffusers' final
latents in fp32 and under torch's CPU bf16 autocast, and Stockwerk's (from `stockwerk generate
--latents-out`), compared as relative L2 distance to diffusers fp32. 512², DDIM, guidance 7.5.
Usage: python bf16_reference.py MODEL_FOLDER STEPS OUT_FOLDER [STOCKWERK_LATENTS.safetensors:IMAGE.png …]
Without Stockwerk's results it writes diffusers' latents to OUT_FOLDER; with them it prints the
comparison: latents' relative L2 and the 8-bit images' PSNR against diffusers fp32 (diffusers'
latents decoded by the folder's VAE in fp32)."""
import os
import sys

import torch
from safetensors.torch import load_file, save_file

folder, steps, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
torch.set_num_threads(2)
reference = os.path.join(out, "diffusers-latents.safetensors")
if len(sys.argv) == 4:
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    def run():
        with torch.no_grad():
            return pipe("a lighthouse on a cliff at dawn", num_inference_steps=steps, guidance_scale=7.5, height=512, width=512,
                        generator=torch.Generator("cpu").manual_seed(0), output_type="latent").images
    fp32 = run()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        bf16 = run().float()
    save_file({"fp32": fp32.contiguous(), "bf16": bf16.contiguous()}, reference)
    print(f"wrote {reference}")
else:
    import numpy
    from diffusers import AutoencoderKL
    from PIL import Image
    tensors = load_file(reference)
    vae = AutoencoderKL.from_pretrained(os.path.join(folder, "vae"), torch_dtype=torch.float32)

    def pixels(latents):
        with torch.no_grad():
            image = vae.decode(latents / vae.config.scaling_factor).sample[0]
        return ((image / 2 + 0.5).clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(numpy.float64)

    def psnr(image, target):
        return 10 * numpy.log10(255 ** 2 / numpy.mean((image - target) ** 2))

    def distance(x):
        return float((x - tensors["fp32"]).norm() / tensors["fp32"].norm())
    target = pixels(tensors["fp32"])
    print(f"diffusers bf16 autocast: latents relative L2 {distance(tensors['bf16']):.4f}, image PSNR {psnr(pixels(tensors['bf16']), target):.1f} dB")
    for pair in sys.argv[4:]:
        latents, png = pair.split(":")
        ours = numpy.asarray(Image.open(png).convert("RGB"), dtype=numpy.float64)
        print(f"{os.path.basename(latents)}: latents relative L2 {distance(load_file(latents)['latents']):.4f}, image PSNR {psnr(ours, target):.1f} dB")
