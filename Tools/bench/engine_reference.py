#!/usr/bin/env python3
"""Reference side of Tools/bench/engine.sh: numpy sgemm and transformers' CLIPTextModel (SD 1.5
text tower, random weights, fp32) on the same machine, with the same thread count."""
import sys
import time

import numpy as np
import torch
from transformers import CLIPTextConfig, CLIPTextModel

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)

n, repeats = 2048, 15
a = np.random.default_rng(0).standard_normal((n, n), dtype=np.float32)
b = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
a @ b
rates = []
for _ in range(repeats):
    start = time.perf_counter()
    a @ b
    rates.append(2 * n**3 / (time.perf_counter() - start) / 1e9)
rates.sort()
print(f"numpy sgemm {n}: median {rates[len(rates) // 2]:.1f} GFLOP/s, best {rates[-1]:.1f} ({repeats} runs)")

config = CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu")
model = CLIPTextModel(config).eval()
ids = torch.tensor([[49406] + list(range(320, 340)) + [49407] * 56])
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
times = []
with torch.inference_mode():
    model(input_ids=ids)
    for _ in range(runs):
        start = time.perf_counter()
        model(input_ids=ids)
        times.append((time.perf_counter() - start) * 1000)
times.sort()
print(f"transformers text-encoder sd1.5: median {times[len(times) // 2]:.1f} ms, best {times[0]:.1f} ms per prompt "
      f"({runs} runs, torch {torch.__version__})")
