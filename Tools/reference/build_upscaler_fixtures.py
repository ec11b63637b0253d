#!/usr/bin/env python3
"""Reference fixtures for learned super-resolution (Tests/Fixtures/upscalers/).

The two architectures are written here in PyTorch from their published definitions (BasicSR's
RRDBNet and Real-ESRGAN's SRVGGNetCompact; ESRGAN's original layout is the same network under
other names), with tiny random weights saved under the published key names:

  rrdb-x4.safetensors          BasicSR layout, scale 4
  rrdb-x2.safetensors          BasicSR layout with Real-ESRGAN's pixel-unshuffle front, scale 2
  rrdb-x4-esrgan.safetensors   ESRGAN's original layout (model.N), scale 4
  rrdb-x2-esrgan.safetensors   ESRGAN's original layout, scale 2 (one enlargement)
  compact-x4.safetensors, compact-x2.safetensors   SRVGGNetCompact with PReLU
  expected.safetensors         a random 20×24 image in [0, 1] and each network's output, in fp32
                               and under torch's CPU bf16 autocast

and the tensor names and shapes of published models (keys/*.json), as each one's published
architecture and arguments produce them, for the detector.

Usage (in the reference venv, outside the repository): python Tools/reference/build_upscaler_fixtures.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Tests", "Fixtures", "upscalers")


class ResidualDenseBlock(nn.Module):
    def __init__(self, feat, grow):
        super().__init__()
        self.conv1 = nn.Conv2d(feat, grow, 3, 1, 1)
        self.conv2 = nn.Conv2d(feat + grow, grow, 3, 1, 1)
        self.conv3 = nn.Conv2d(feat + 2 * grow, grow, 3, 1, 1)
        self.conv4 = nn.Conv2d(feat + 3 * grow, grow, 3, 1, 1)
        self.conv5 = nn.Conv2d(feat + 4 * grow, feat, 3, 1, 1)

    def forward(self, x):
        lrelu = lambda t: F.leaky_relu(t, 0.2)
        x1 = lrelu(self.conv1(x))
        x2 = lrelu(self.conv2(torch.cat((x, x1), 1)))
        x3 = lrelu(self.conv3(torch.cat((x, x1, x2), 1)))
        x4 = lrelu(self.conv4(torch.cat((x, x1, x2, x3), 1)))
        return self.conv5(torch.cat((x, x1, x2, x3, x4), 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, feat, grow):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = (ResidualDenseBlock(feat, grow) for _ in range(3))

    def forward(self, x):
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """BasicSR's RRDBNet; scale 2 and 1 pixel-unshuffle the input (Real-ESRGAN)."""

    def __init__(self, in_ch=3, out_ch=3, scale=4, feat=64, blocks=23, grow=32):
        super().__init__()
        self.scale = scale
        first_in = in_ch * {4: 1, 2: 4, 1: 16}[scale]
        self.conv_first = nn.Conv2d(first_in, feat, 3, 1, 1)
        self.body = nn.Sequential(*[RRDB(feat, grow) for _ in range(blocks)])
        self.conv_body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.conv_last = nn.Conv2d(feat, out_ch, 3, 1, 1)

    def forward(self, x):
        feat = F.pixel_unshuffle(x, {4: 1, 2: 2, 1: 4}[self.scale]) if self.scale < 4 else x
        feat = self.conv_first(feat)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))


class OriginalESRGAN(nn.Module):
    """ESRGAN's original RRDBNet (model.N names): `ups` enlargements of ×2."""

    def __init__(self, in_ch=3, out_ch=3, feat=64, blocks=23, grow=32, ups=2):
        super().__init__()
        self.ups = ups
        self.first = nn.Conv2d(in_ch, feat, 3, 1, 1)
        self.blocks = nn.ModuleList([RRDB(feat, grow) for _ in range(blocks)])
        self.body = nn.Conv2d(feat, feat, 3, 1, 1)
        self.up = nn.ModuleList([nn.Conv2d(feat, feat, 3, 1, 1) for _ in range(ups)])
        self.hr = nn.Conv2d(feat, feat, 3, 1, 1)
        self.last = nn.Conv2d(feat, out_ch, 3, 1, 1)

    def forward(self, x):
        feat = self.first(x)
        body = feat
        for block in self.blocks:
            body = block(body)
        feat = feat + self.body(body)
        for conv in self.up:
            feat = F.leaky_relu(conv(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.last(F.leaky_relu(self.hr(feat), 0.2))

    def original_state_dict(self):
        """The original layout's names: model.0, model.1.sub.N.RDBK.convJ.0, model.1.sub.{blocks},
        model.3, model.6, … (upsample, conv, LeakyReLU per ×2), then the HR and last convs."""
        out = {}
        def put(name, conv):
            out[name + ".weight"], out[name + ".bias"] = conv.weight, conv.bias
        put("model.0", self.first)
        for b, block in enumerate(self.blocks):
            for r, rdb in enumerate((block.rdb1, block.rdb2, block.rdb3), 1):
                for j in range(1, 6):
                    put(f"model.1.sub.{b}.RDB{r}.conv{j}.0", getattr(rdb, f"conv{j}"))
        put(f"model.1.sub.{len(self.blocks)}", self.body)
        for i, conv in enumerate(self.up):
            put(f"model.{3 + 3 * i}", conv)
        put(f"model.{3 * self.ups + 2}", self.hr)
        put(f"model.{3 * self.ups + 4}", self.last)
        return out


class SRVGGNetCompact(nn.Module):
    """Real-ESRGAN's compact model with PReLU: body.0 conv, body.1 PReLU, …, the last conv, pixel shuffle."""

    def __init__(self, in_ch=3, out_ch=3, feat=64, convs=16, scale=4):
        super().__init__()
        self.scale = scale
        layers = [nn.Conv2d(in_ch, feat, 3, 1, 1), nn.PReLU(feat)]
        for _ in range(convs):
            layers += [nn.Conv2d(feat, feat, 3, 1, 1), nn.PReLU(feat)]
        layers.append(nn.Conv2d(feat, out_ch * scale * scale, 3, 1, 1))
        self.body = nn.ModuleList(layers)

    def forward(self, x):
        out = x
        for layer in self.body:
            out = layer(out)
        return F.pixel_shuffle(out, self.scale) + F.interpolate(x, scale_factor=self.scale, mode="nearest")


def shapes(state):
    return {k: list(v.shape) for k, v in state.items()}


def randomized(model):
    """Random weights of a size that keeps the tiny networks' values in a useful range."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.PReLU):
                module.weight.uniform_(0.05, 0.4)
            elif isinstance(module, nn.Conv2d):
                module.weight.normal_(0, (1 / (module.in_channels * 9)) ** 0.5)
                module.bias.normal_(0, 0.05)
    return model.eval()


def main():
    os.makedirs(os.path.join(OUT, "keys"), exist_ok=True)
    torch.manual_seed(0)
    image = torch.rand(1, 3, 20, 24)
    expected = {"image": image}
    models = {
        "rrdb-x4": (randomized(RRDBNet(scale=4, feat=8, blocks=2, grow=4)), None),
        "rrdb-x2": (randomized(RRDBNet(scale=2, feat=8, blocks=2, grow=4)), None),
        "rrdb-x4-esrgan": (randomized(OriginalESRGAN(feat=8, blocks=2, grow=4, ups=2)), "original"),
        "rrdb-x2-esrgan": (randomized(OriginalESRGAN(feat=8, blocks=1, grow=4, ups=1)), "original"),
        "compact-x4": (randomized(SRVGGNetCompact(feat=8, convs=3, scale=4)), None),
        "compact-x2": (randomized(SRVGGNetCompact(feat=8, convs=2, scale=2)), None),
    }
    with torch.no_grad():
        for name, (model, layout) in models.items():
            state = model.original_state_dict() if layout == "original" else model.state_dict()
            save_file({k: v.contiguous() for k, v in state.items()}, os.path.join(OUT, name + ".safetensors"))
            expected[name + ".output"] = model(image)
            # PyTorch's own bf16 (CPU autocast): the yardstick for Stockwerk's bf16 error.
            with torch.autocast("cpu", dtype=torch.bfloat16):
                expected[name + ".bf16"] = model(image).float()
    save_file({k: v.contiguous() for k, v in expected.items()}, os.path.join(OUT, "expected.safetensors"))

    # Published models' tensor names and shapes, as their architectures and arguments make them.
    published = {
        "RealESRGAN_x4plus": lambda: RRDBNet(scale=4).state_dict(),
        "RealESRGAN_x2plus": lambda: RRDBNet(scale=2).state_dict(),
        "RealESRGAN_x4plus_anime_6B": lambda: RRDBNet(scale=4, blocks=6).state_dict(),
        "realesr-general-x4v3": lambda: SRVGGNetCompact(feat=64, convs=32, scale=4).state_dict(),
        "realesr-animevideov3": lambda: SRVGGNetCompact(feat=64, convs=16, scale=4).state_dict(),
        "4x-UltraSharp": lambda: OriginalESRGAN(ups=2).original_state_dict(),
        "4x_NMKD-Siax_200k": lambda: OriginalESRGAN(ups=2).original_state_dict(),
        "ESRGAN_SRx4_DF2KOST_official": lambda: RRDBNet(scale=4).state_dict(),
    }
    for name, make in published.items():
        with open(os.path.join(OUT, "keys", name + ".json"), "w") as f:
            json.dump(shapes(make()), f, indent=0, sort_keys=True)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
