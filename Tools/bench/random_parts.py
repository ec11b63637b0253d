"""Full-size random-weight parts shared by the benchmark model builders: CLIP's real vocabulary
and merges (from presets/clip/) in a tokenizer, a CLIP ViT-L/14-shaped text tower, the SD VAE."""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import build_fixtures  # noqa: E402  (CLIP vocabulary from presets/clip/)
from diffusers import AutoencoderKL  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402


def clip_tokenizer():
    vocab, merges = build_fixtures.clip_vocab_and_merges()
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(" ".join(m) for m in merges) + "\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def clip_text_encoder():
    return CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu")).eval()


def sd_vae():
    return AutoencoderKL(in_channels=3, out_channels=3, down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4,
                         block_out_channels=[128, 256, 512, 512], layers_per_block=2, latent_channels=4, sample_size=512).eval()
