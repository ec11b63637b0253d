#!/usr/bin/env python3
"""Builds the reference fixtures the Swift tests read (see README.md beside this file).

Usage: build_fixtures.py [GROUP ...]   (no group: all of them)
"""
import os
import sys

# torch.randn's float kernel differs slightly between CPU dispatch levels (about 1e-6 between the
# AVX2 and the DEFAULT kernels). Pin the AVX2 one, which x86-64 users of diffusers normally get.
os.environ.setdefault("ATEN_CPU_CAPABILITY", "avx2")

import torch  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "neural")


def versions():
    import safetensors
    return {"torch": torch.__version__, "safetensors": safetensors.__version__,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}


def build_randn():
    """torch.randn(count, generator=torch.Generator("cpu").manual_seed(seed)), float32."""
    tensors = {}
    for seed in [0, 1, 42, 2024, 123456789, 2**32 + 7]:
        for count in [1, 2, 7, 15, 16, 17, 31, 32, 100, 1000]:
            generator = torch.Generator("cpu").manual_seed(seed)
            tensors[f"seed{seed}_n{count}"] = torch.randn(count, generator=generator, dtype=torch.float32)
    # A latent-shaped draw, as diffusers makes its initial noise (batch 1, 4 channels, 64×64).
    generator = torch.Generator("cpu").manual_seed(1234)
    tensors["seed1234_latent_1x4x64x64"] = torch.randn((1, 4, 64, 64), generator=generator, dtype=torch.float32)
    # Consecutive draws on one generator: the scalar path caches the second Box–Muller value.
    generator = torch.Generator("cpu").manual_seed(7)
    tensors["seed7_sequence_a3"] = torch.randn(3, generator=generator)
    tensors["seed7_sequence_b5"] = torch.randn(5, generator=generator)
    tensors["seed7_sequence_c20"] = torch.randn(20, generator=generator)
    tensors["seed7_sequence_d1"] = torch.randn(1, generator=generator)
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(FIXTURES, "torch_randn.safetensors"),
              metadata=versions())


def build_safetensors():
    """A file written by the reference library, with the dtypes the reader converts."""
    values = torch.linspace(-3.5, 3.5, steps=24, dtype=torch.float32).reshape(2, 3, 4)
    tensors = {
        "f32": values,
        "f16": values.to(torch.float16),
        "bf16": values.to(torch.bfloat16),
        "scalar": torch.tensor(1.25, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
        "halves": torch.tensor([65504.0, 6.1e-5, 5.96e-8, -0.0, float("inf")], dtype=torch.float16),
    }
    metadata = versions()
    metadata["purpose"] = "reader fixture"
    save_file(tensors, os.path.join(FIXTURES, "reference_writer.safetensors"), metadata=metadata)


GROUPS = {"randn": build_randn, "safetensors": build_safetensors}

if __name__ == "__main__":
    os.makedirs(FIXTURES, exist_ok=True)
    wanted = sys.argv[1:] or list(GROUPS)
    for name in wanted:
        if name not in GROUPS:
            sys.exit(f"unknown group {name!r}; groups: {', '.join(GROUPS)}")
        GROUPS[name]()
        print(f"wrote fixtures for {name}")
