#!/usr/bin/env python3
"""PyTorch beside Stockwerk for learned upscaling (docs/benchmarks.md): full-size random weights in
the published shapes (RealESRGAN_x4plus: RRDBNet 23 blocks of 64; realesr-general-x4v3:
SRVGGNetCompact 32 convolutions of 64), and PyTorch's time for the same image in the same tiles.
The networks are the reference ones of Tools/reference/build_upscaler_fixtures.py.

Usage (in the reference venv):
  python Tools/bench/upscaler_reference.py write FOLDER               # rrdb-x4.safetensors, compact-x4.safetensors
  python Tools/bench/upscaler_reference.py time MODEL SIZE TILE [bf16]
"""
import os
import sys
import time

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
from build_upscaler_fixtures import RRDBNet, SRVGGNetCompact, randomized  # noqa: E402


def network(path):
    state = load_file(path)
    model = SRVGGNetCompact(feat=64, convs=32, scale=4) if "body.0.weight" in state else RRDBNet(scale=4)
    model.load_state_dict(state)
    return model.eval()


def main():
    if sys.argv[1] == "write":
        torch.manual_seed(0)
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, model in (("rrdb-x4", RRDBNet(scale=4)), ("compact-x4", SRVGGNetCompact(feat=64, convs=32, scale=4))):
            save_file({k: v.contiguous() for k, v in randomized(model).state_dict().items()}, os.path.join(sys.argv[2], name + ".safetensors"))
        return
    path, size, tile = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    bf16 = len(sys.argv) > 5 and sys.argv[5] == "bf16"
    model = network(path)
    torch.manual_seed(0)
    image = (torch.randn(1, 3, size, size) * 0.2 + 0.5).clamp(0, 1)
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        model(image[:, :, :32, :32])  # warm-up
        begin = time.perf_counter()
        rows = []
        for y in range(0, size, tile):
            rows.append(torch.cat([model(image[:, :, y:y + tile, x:x + tile]).float() for x in range(0, size, tile)], dim=3))
        out = torch.cat(rows, dim=2).clamp(0, 1)
        seconds = time.perf_counter() - begin
    kind = "SRVGGNetCompact" if isinstance(model, SRVGGNetCompact) else "RRDBNet"
    print(f"pytorch {torch.__version__} {kind}{' bf16 autocast' if bf16 else ''} {size}² → {out.shape[3]}×{out.shape[2]} in {tile}-px tiles: "
          f"{seconds:.2f} s ({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
