"""OpenVINO's side of the whole-image SDXL benchmark: the SDXL base UNet's guided step (batch 2 at
1024²) and the VAE decode of a 128² latent, converted in-process with ov.convert_model from a
diffusers folder (make_random_sdxl.py), then reshaped to static 1024² shapes, 2 threads,
inference precision f32 or bf16, called directly. The models are traced in fp16 on small inputs:
tracing the fp32 UNet at 1024² needed more than the 24 GB machine has (killed at 24.4 GB).
Prints the conversion, each timed call after one warm-up; run under /usr/bin/time for peak RSS.
Usage: python sdxl_openvino_reference.py SDXL_FOLDER f32|bf16 [CALLS]"""
import gc
import sys
import time

import numpy as np
import openvino as ov
import torch
from diffusers import AutoencoderKL, UNet2DConditionModel

folder, precision = sys.argv[1], sys.argv[2]
calls = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(2)
core = ov.Core()
settings = {"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}


class GuidedUNet(torch.nn.Module):
    """The UNet with SDXL's added conditioning as plain inputs (ov.convert_model takes tensors)."""

    def __init__(self, unet):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, text_embeds, time_ids):
        return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states,
                         added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}, return_dict=False)[0]


class Decoder(torch.nn.Module):
    def __init__(self, vae):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


def run(name, model, feed):
    begin = time.perf_counter()
    compiled = core.compile_model(model, "CPU", settings)
    request = compiled.create_infer_request()
    print(f"openvino {precision}: {name}: compiled in {time.perf_counter() - begin:.1f} s", flush=True)
    request.infer(feed)  # warm-up
    for call in range(calls):
        begin = time.perf_counter()
        request.infer(feed)
        print(f"openvino {precision}: {name} {call + 1}: {time.perf_counter() - begin:.2f} s", flush=True)


random = np.random.default_rng(0)


def static(model, shapes):
    model.reshape({port.get_any_name(): ov.PartialShape(shape) for port, shape in zip(model.inputs, shapes)})
    return model


with torch.no_grad():
    begin = time.perf_counter()
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=torch.float16).eval()
    half = torch.float16
    small = (torch.randn(2, 4, 32, 32, dtype=half), torch.tensor([500, 500]), torch.randn(2, 77, 2048, dtype=half), torch.randn(2, 1280, dtype=half),
             torch.tensor([[256.0, 256, 0, 0, 256, 256]] * 2, dtype=half))
    model = ov.convert_model(GuidedUNet(unet), example_input=small)
    del unet
    gc.collect()
    shapes = [[2, 4, 128, 128], [2], [2, 77, 2048], [2, 1280], [2, 6]]
    model = static(model, shapes)
    print(f"openvino {precision}: converted the UNet in {time.perf_counter() - begin:.1f} s", flush=True)
    feed = [random.standard_normal(shapes[0]).astype(np.float16), np.array([500, 500]), random.standard_normal(shapes[2]).astype(np.float16),
            random.standard_normal(shapes[3]).astype(np.float16), np.array([[1024, 1024, 0, 0, 1024, 1024]] * 2, dtype=np.float16)]
    run("guided step at 1024x1024", model, feed)
    del model
    gc.collect()
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=torch.float16).eval()
    model = static(ov.convert_model(Decoder(vae), example_input=(torch.randn(1, 4, 32, 32, dtype=half),)), [[1, 4, 128, 128]])
    del vae
    run("VAE decode 1024x1024", model, [random.standard_normal((1, 4, 128, 128)).astype(np.float16)])
