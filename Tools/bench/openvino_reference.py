"""OpenVINO's side of the engine benchmark: the SD 1.5 UNet's guided step (batch 2 at 512²) and
the VAE decode of a 64² latent, from a folder exported by optimum-intel
(`optimum-cli export openvino --model SD_FOLDER --task text-to-image --weight-format fp32 OV_FOLDER`),
static shapes, 2 threads, inference precision f32 or bf16, called directly (no pipeline).
Prints each timed call after one warm-up. Usage: python openvino_reference.py OV_FOLDER f32|bf16 [CALLS]"""
import sys
import time

import numpy as np
import openvino as ov

folder, precision = sys.argv[1], sys.argv[2]
calls = int(sys.argv[3]) if len(sys.argv) > 3 else 3
core = ov.Core()
settings = {"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"}
random = np.random.default_rng(0)


def inputs_for(model, shapes):
    """Random inputs of the static shapes; the timestep as the model declares it (scalar or [2])."""
    feed, static = {}, {}
    for port in model.inputs:
        name = port.get_any_name()
        shape = shapes[name]
        if name == "timestep" and port.get_partial_shape().rank.get_length() == 0:
            shape = []
        static[name] = ov.PartialShape(shape)
        kind = np.int64 if port.get_element_type() == ov.Type.i64 else np.float32
        feed[name] = np.full(shape, 500, dtype=kind) if name == "timestep" else random.standard_normal(shape).astype(np.float32)
    model.reshape(static)
    return feed


for part, path, shapes in [("guided step", "unet/openvino_model.xml", {"sample": [2, 4, 64, 64], "timestep": [2], "encoder_hidden_states": [2, 77, 768]}),
                           ("VAE decode 512x512", "vae_decoder/openvino_model.xml", {"latent_sample": [1, 4, 64, 64]})]:
    model = core.read_model(f"{folder}/{path}")
    feed = inputs_for(model, shapes)
    begin = time.perf_counter()
    compiled = core.compile_model(model, "CPU", settings)
    request = compiled.create_infer_request()
    request.infer(feed)
    print(f"openvino {precision}: {part}: compile + warm-up {time.perf_counter() - begin:.1f} s")
    for call in range(calls):
        begin = time.perf_counter()
        request.infer(feed)
        print(f"openvino {precision}: {part} {call + 1}: {time.perf_counter() - begin:.2f} s")
    assert np.isfinite(request.get_output_tensor(0).data).all()
    del request, compiled, model
