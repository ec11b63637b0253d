"""The whole image for the engine benchmark's wall-time row: one 512² txt2img of STEPS steps (DDIM,
guidance 7.5, seed 0), 2 threads, with diffusers fp32 from the SD folder or with OpenVINO
(optimum-intel's OVStableDiffusionPipeline, static 512² shapes, f32 or bf16) from its export.
Prints the load and the generation time. Usage:
  python pipeline_reference.py diffusers SD_FOLDER STEPS
  python pipeline_reference.py openvino-f32|openvino-bf16 OV_FOLDER STEPS"""
import sys
import time

import torch

engine, folder, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
torch.set_num_threads(2)
begin = time.perf_counter()
if engine == "diffusers":
    from diffusers import DDIMScheduler, StableDiffusionPipeline
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None)
else:
    from diffusers import DDIMScheduler
    from optimum.intel import OVStableDiffusionPipeline
    precision = engine.split("-")[1]
    pipe = OVStableDiffusionPipeline.from_pretrained(folder, compile=False,
                                                     ov_config={"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": precision})
    pipe.reshape(batch_size=1, height=512, width=512, num_images_per_prompt=1)
    pipe.compile()
pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
loaded = time.perf_counter() - begin
begin = time.perf_counter()
pipe("a lighthouse on a cliff at dawn", height=512, width=512, num_inference_steps=steps, guidance_scale=7.5,
     generator=torch.Generator("cpu").manual_seed(0))
print(f"{engine}: load {loaded:.1f} s, {steps} steps + decode {time.perf_counter() - begin:.1f} s")
