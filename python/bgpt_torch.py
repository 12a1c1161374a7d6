"""bgpt_torch: a small PyTorch reference of the bGPT model as docs/format.md defines it.

It reads and writes the same state dicts as bgpt (the names, shapes, order, attention buffers and tied
lm_head of the original checkpoints), computes the same loss, makes test vectors like those in
test/fixtures, checks a vector bundle, and times the benchmark shapes of `npm run bench`.
Needs only torch (and numpy); run with /usr/bin/python3.

Library use (put this folder on sys.path):

    import bgpt_torch as bt
    cfg = bt.Config(patch_size=16, patch_length=512, hidden=768, patch_layers=12, byte_layers=3)
    model = bt.BGPT(cfg)                        # generative model, GPT-2 initialisation (torch's RNG)
    tokens, masks = bt.collate([bt.file_patches(data, 'txt', cfg.patch_size)], cfg)   # long tensors
    loss, logits = model(tokens, masks)          # mean cross-entropy in nats (docs/format.md §3)
    bt.bits_per_byte(loss)                       # loss / ln 2
    bt.save_pth('model.pth', model, epoch=1, best_epoch=1, min_eval_loss=2.0)   # loads in bgpt
    model = bt.load_model('model.pth')           # .pth (original layout) or .safetensors (bgpt's)
    cls = bt.Classifier(cfg, labels=3); cls(tokens) -> logits (B, labels)

    Config(..., heads=None, dropout=0.0)  heads default hidden // 64 (at least 1); dropout as GPT-2's
    model(tokens, masks, sample=k)        patch sampling: a random k of the patch pairs (docs/format.md §3)
    model.state_dict()                    keys, order and buffers exactly as bgpt's .pth export
    model.last_feature(context), model.byte_probs(feature, patch_so_far)   generation (§5), no caches
    read_safetensors(path) / write_safetensors(path, tensors, metadata); load_pth(path) (tensors only)
    load_state(path) -> {name: float32 tensor} (parameters only); config_of(state) -> Config

Command line:

    python3 python/bgpt_torch.py check test/fixtures/vectors      # recompute a bundle; JSON errors; exit 1 if off
    python3 python/bgpt_torch.py vectors --out DIR [--hidden 64 --patch-layers 2 --byte-layers 1
                                         --patch-size 4 --patch-length 8 --heads N --seed 0 --files F ...]
    python3 python/bgpt_torch.py bench --config b --what train,gen --threads 2 [--steps 5 --warmup 2]
"""
import argparse
import json
import math
import os
import pickle
import statistics
import struct
import sys
import time
from dataclasses import dataclass, asdict
from typing import Optional

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EOP = 256  # end of patch, padding and end of file
VOCAB = 257
MASKED = -1e4  # what GPT-2 (transformers 4.18) puts in place of a masked score


@dataclass
class Config:
    patch_size: int = 16  # S
    patch_length: int = 512  # L
    hidden: int = 768  # H
    patch_layers: int = 12
    byte_layers: int = 3
    heads: Optional[int] = None  # hidden // 64, at least 1
    dropout: float = 0.0  # GPT-2's dropout (embeddings, attention probabilities, both residual branches)

    def __post_init__(self):
        if self.heads is None:
            self.heads = max(1, self.hidden // 64)
        if self.hidden % self.heads:
            raise ValueError(f"hidden size {self.hidden} is not a multiple of heads {self.heads}")


# ---------------------------------------------------------------- GPT-2 as transformers 4.18 computes it


class Conv1D(nn.Module):
    """GPT-2's linear layer: weight stored [in, out], y = x W + b."""

    def __init__(self, n_in, n_out):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out))

    def forward(self, x):
        return torch.addmm(self.bias, x.reshape(-1, x.shape[-1]), self.weight).reshape(*x.shape[:-1], -1)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class Attention(nn.Module):
    def __init__(self, hidden, heads, positions, dropout):
        super().__init__()
        # persistent buffers of the original checkpoints (their names and order are part of the state dict)
        self.register_buffer("bias", torch.tril(torch.ones(positions, positions, dtype=torch.uint8)).view(1, 1, positions, positions))
        self.register_buffer("masked_bias", torch.tensor(MASKED))
        self.heads = heads
        self.c_attn = Conv1D(hidden, 3 * hidden)
        self.c_proj = Conv1D(hidden, hidden)
        self.dropout = dropout

    def forward(self, x, additive_mask=None):
        B, T, H = x.shape
        q, k, v = (t.reshape(B, T, self.heads, H // self.heads).transpose(1, 2) for t in self.c_attn(x).split(H, dim=2))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(H // self.heads)
        # future keys are replaced by −10000 (not −inf), then padding keys get −10000 added
        scores = torch.where(self.bias[:, :, :T, :T].bool(), scores, self.masked_bias.to(scores.dtype))
        if additive_mask is not None:
            scores = scores + additive_mask
        probs = F.dropout(F.softmax(scores, dim=-1), self.dropout, self.training)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, H)
        return F.dropout(self.c_proj(out), self.dropout, self.training)


class MLP(nn.Module):
    def __init__(self, hidden, dropout):
        super().__init__()
        self.c_fc = Conv1D(hidden, 4 * hidden)
        self.c_proj = Conv1D(4 * hidden, hidden)
        self.dropout = dropout

    def forward(self, x):
        return F.dropout(self.c_proj(gelu_new(self.c_fc(x))), self.dropout, self.training)


class Block(nn.Module):
    def __init__(self, hidden, heads, positions, dropout):
        super().__init__()
        self.ln_1 = nn.LayerNorm(hidden, eps=1e-5)
        self.attn = Attention(hidden, heads, positions, dropout)
        self.ln_2 = nn.LayerNorm(hidden, eps=1e-5)
        self.mlp = MLP(hidden, dropout)

    def forward(self, x, additive_mask=None):
        x = x + self.attn(self.ln_1(x), additive_mask)
        return x + self.mlp(self.ln_2(x))


class GPT2(nn.Module):
    """GPT-2's transformer over given input embeddings; returns the last hidden state (after ln_f)."""

    def __init__(self, vocab, positions, hidden, layers, heads, dropout):
        super().__init__()
        self.wte = nn.Embedding(vocab, hidden)
        self.wpe = nn.Embedding(positions, hidden)
        self.h = nn.ModuleList([Block(hidden, heads, positions, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(hidden, eps=1e-5)
        self.dropout = dropout

    def forward(self, embeds, masks=None):
        T = embeds.shape[1]
        x = F.dropout(embeds + self.wpe.weight[:T], self.dropout, self.training)
        additive = None if masks is None else (1.0 - masks[:, None, None, :].to(x.dtype)) * -10000.0
        for block in self.h:
            x = block(x, additive)
        return self.ln_f(x)


class GPT2LM(nn.Module):
    """GPT-2 with its language-model head tied to the token embedding."""

    def __init__(self, *args):
        super().__init__()
        self.transformer = GPT2(*args)
        self.lm_head = nn.Linear(self.transformer.wte.weight.shape[1], self.transformer.wte.weight.shape[0], bias=False)
        self.lm_head.weight = self.transformer.wte.weight

    def forward(self, embeds):
        return self.lm_head(self.transformer(embeds))


# ---------------------------------------------------------------- bGPT (docs/format.md §2, §3, §4)


class PatchLevelDecoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.patch_size = cfg.patch_size
        self.patch_embedding = nn.Linear(cfg.patch_size * VOCAB, cfg.hidden)
        self.base = GPT2(1, cfg.patch_length, cfg.hidden, cfg.patch_layers, cfg.heads, cfg.dropout)

    def forward(self, patches, masks=None):
        """patches: long (B, N, S); masks: (B, N) of 0/1 or None. Returns the features (B, N, H)."""
        # the dense one-hot product of the published code (equal to the gather-sum of docs/format.md §2)
        onehot = F.one_hot(patches, VOCAB).to(self.patch_embedding.weight.dtype).reshape(patches.shape[0], patches.shape[1], -1)
        return self.base(self.patch_embedding(onehot), masks)


class ByteLevelDecoder(nn.Module):
    def __init__(self, cfg: Config):
        super().__init__()
        self.base = GPT2LM(VOCAB, cfg.patch_size + 1, cfg.hidden, cfg.byte_layers, cfg.heads, cfg.dropout)

    def forward(self, features, tokens):
        """features (M, H), tokens (M, T ≤ S) → logits (M, T+1, 257): the feature stands in for a leading <eop>."""
        embeds = F.embedding(tokens, self.base.transformer.wte.weight)
        return self.base(torch.cat([features[:, None, :], embeds], dim=1))


class BGPT(nn.Module):
    """The generative bGPT; state_dict() is that of the original checkpoints."""

    def __init__(self, cfg: Config, init=True):
        super().__init__()
        self.cfg = cfg
        self.patch_level_decoder = PatchLevelDecoder(cfg)
        self.byte_level_decoder = ByteLevelDecoder(cfg)
        if init:
            init_gpt2(self)

    def forward(self, tokens, masks, sample=0, generator=None):
        """tokens: long (B, N·S); masks: (B, N). Returns (mean cross-entropy in nats, logits (M, S+1, 257)).
        sample > 0 keeps a random `sample` of the M patch pairs (in order), as PATCH_SAMPLING_BATCH_SIZE."""
        S = self.cfg.patch_size
        patches = tokens.reshape(tokens.shape[0], -1, S)
        valid = masks.bool()
        features = self.patch_level_decoder(patches, masks)
        has_next = valid.flip(1).cumsum(1).flip(1) > 1  # a valid patch follows
        is_target = valid.clone()
        is_target[:, 0] = False
        src, tgt = features[valid & has_next], patches[is_target]
        if 0 < sample < src.shape[0]:
            keep = torch.randperm(src.shape[0], generator=generator)[:sample].sort().values
            src, tgt = src[keep], tgt[keep]
        logits = self.byte_level_decoder(src, tgt)
        loss = F.cross_entropy(logits[:, :S].reshape(-1, VOCAB), tgt.reshape(-1))
        return loss, logits

    @torch.no_grad()
    def last_feature(self, context_tokens):
        """The feature (1, H) of the last of the whole patches `context_tokens` (long, N·S), unmasked."""
        return self.patch_level_decoder(context_tokens.reshape(1, -1, self.cfg.patch_size))[0, -1:]

    @torch.no_grad()
    def byte_probs(self, feature, patch_tokens):
        """Next-token probabilities (257) after `feature` and the bytes of the patch begun so far (long, < S)."""
        return F.softmax(self.byte_level_decoder(feature, patch_tokens.reshape(1, -1))[0, -1], dim=-1)

    def next_byte_probs(self, context_tokens, patch_tokens):
        return self.byte_probs(self.last_feature(context_tokens), patch_tokens)


class Classifier(nn.Module):
    """Patch-level decoder (no mask) → mean over patches → Linear(H → labels); docs/format.md §4."""

    def __init__(self, cfg: Config, labels: int, init=True):
        super().__init__()
        self.cfg = cfg
        self.patch_level_decoder = PatchLevelDecoder(cfg)
        self.classifier = nn.Linear(cfg.hidden, labels)
        if init:
            init_gpt2(self)

    def forward(self, tokens):
        features = self.patch_level_decoder(tokens.reshape(tokens.shape[0], -1, self.cfg.patch_size))
        return self.classifier(features.mean(1))


def init_gpt2(model: nn.Module, std=0.02):
    """GPT-2's initialisation: weights normal(0, std), c_proj weights std/√(2·layers of their decoder),
    embeddings normal(0, std), LayerNorm 1 and 0, biases 0."""
    for name, p in model.named_parameters():
        if p.dim() == 1:
            nn.init.ones_(p) if (".ln_" in name and name.endswith(".weight")) else nn.init.zeros_(p)
        else:
            layers = model.cfg.patch_layers if name.startswith("patch_level_decoder") else model.cfg.byte_layers
            nn.init.normal_(p, 0.0, std / math.sqrt(2 * layers) if name.endswith("c_proj.weight") else std)


def bits_per_byte(loss):
    return float(loss) / math.log(2)


def count_params(model):
    return sum(p.numel() for p in model.parameters())  # parameters() lists the tied lm_head once


# ---------------------------------------------------------------- files → patches (docs/format.md §1)


def extension_of(name):
    base = os.path.basename(name)
    return base.rsplit(".", 1)[1] if "." in base else ""


def file_patches(data: bytes, ext: str, S: int):
    """Header patch (extension, cut to S, <eop>-padded), the bytes <eop>-padded to whole patches, one end patch."""
    head = list(ext.encode())[:S]
    body = list(data) + [EOP] * (-len(data) % S)
    return head + [EOP] * (S - len(head)) + body + [EOP] * S


def collate(sequences, cfg: Config):
    """Head-truncates each token list to L patches and pads the batch with <eop> and mask 0 → (tokens, masks)."""
    S, L = cfg.patch_size, cfg.patch_length
    seqs = [s[: L * S] for s in sequences]
    n = max(len(s) for s in seqs) // S
    tokens = torch.tensor([s + [EOP] * (n * S - len(s)) for s in seqs])
    masks = torch.tensor([[1] * (len(s) // S) + [0] * (n - len(s) // S) for s in seqs])
    return tokens, masks


# ---------------------------------------------------------------- weights files (docs/format.md §8)

_ST_DTYPES = {"F32": (np.float32, 4), "F16": (np.float16, 2), "BF16": (np.int16, 2)}


def read_safetensors(path):
    """{name: float32 tensor} and the metadata of a safetensors file (F32, F16 and BF16 tensors)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        blob = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, h in header.items():
        npdt, _ = _ST_DTYPES[h["dtype"]]
        a, b = h["data_offsets"]
        t = torch.from_numpy(np.frombuffer(blob[a:b], dtype=npdt).copy()).reshape(h["shape"])
        out[name] = (t.view(torch.bfloat16) if h["dtype"] == "BF16" else t).float()
    return out, meta


def write_safetensors(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().float().contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if metadata:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def _is_buffer(name):
    return name.endswith(".attn.bias") or name.endswith(".attn.masked_bias")


class _TensorsOnly:
    """A pickle module for torch.load that builds only tensors, storages and dicts (no other code runs);
    torch < 2.0's weights_only reader rejects the Python floats of the original checkpoints."""

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) in {("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
                                  ("torch._utils", "_rebuild_parameter")} or (module == "torch" and name.endswith("Storage")):
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def load_pth(path):
    """torch.load of a .pth that only builds tensors and containers."""
    return torch.load(path, map_location="cpu", pickle_module=_TensorsOnly, weights_only=False)


def load_state(path):
    """The parameters of a .pth (checkpoint dict or bare state dict) or .safetensors file, as float32."""
    if path.endswith(".safetensors"):
        sd, _ = read_safetensors(path)
    else:
        sd = load_pth(path)
        sd = sd.get("model", sd)
    return {k: v.float() for k, v in sd.items() if not _is_buffer(k) and not k.startswith("optimizer.")}


def config_of(state, heads=None):
    """The configuration implied by the tensor shapes (heads: hidden // 64 unless given)."""
    layers = lambda p: len({k.split(".")[p.count(".")] for k in state if k.startswith(p)})
    H = state["patch_level_decoder.patch_embedding.weight"].shape[0]
    return Config(patch_size=state["patch_level_decoder.patch_embedding.weight"].shape[1] // VOCAB,
                  patch_length=state["patch_level_decoder.base.wpe.weight"].shape[0], hidden=H,
                  patch_layers=layers("patch_level_decoder.base.h."),
                  byte_layers=layers("byte_level_decoder.base.transformer.h."), heads=heads)


def load_model(path, heads=None):
    """A BGPT or Classifier with the parameters of `path` (heads from bgpt's metadata when present)."""
    state = load_state(path)
    if heads is None and path.endswith(".safetensors"):
        heads = json.loads(read_safetensors(path)[1].get("bgpt.config", "{}")).get("heads")
    cfg = config_of(state, heads)
    model = Classifier(cfg, state["classifier.bias"].shape[0], init=False) if "classifier.bias" in state else BGPT(cfg, init=False)
    missing, unexpected = model.load_state_dict(state, strict=False)
    bad = [k for k in missing if not _is_buffer(k) and k != "byte_level_decoder.base.lm_head.weight"] + unexpected
    if bad:
        raise ValueError(f"{path}: state dict does not fit the model: {bad[:5]}")
    return model


def save_pth(path, model, **extra):
    """torch.save({'model': state_dict, **extra}), the original checkpoint layout (docs/format.md §8)."""
    torch.save({"model": model.state_dict(), **extra}, path)


# ---------------------------------------------------------------- vectors (test/fixtures/README.md)


def _batch(case):
    return torch.tensor(case["inputs"]), torch.tensor(case["masks"])


def _flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def _rel(a, b):
    return float((a - b).abs().max() / max(float(b.abs().max()), 1e-12))


def _case(model, name, sequences):
    tokens, masks = collate(sequences, model.cfg)
    with torch.no_grad():
        loss, logits = model(tokens, masks)
    return dict(name=name, inputs=tokens.tolist(), masks=masks.tolist(), num_target_patches=logits.shape[0],
                loss=float(loss), logits_shape=list(logits.shape),
                logits_head=dict(rows=2, positions=5, values=_flat(logits[:2, :5])),
                logits_sum=float(logits.double().sum()), logits_abs_sum=float(logits.double().abs().sum()))


def _grads_and_step(model, case, adamw):
    """Gradients of `case` (unused parameters: zeros), then one AdamW step; returns (grads, loss after)."""
    tokens, masks = _batch(case)
    model.zero_grad()
    model(tokens, masks)[0].backward()
    grads = {k: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for k, p in model.named_parameters()}
    opt = torch.optim.AdamW(model.parameters(), lr=adamw["lr"], betas=tuple(adamw["betas"]), eps=adamw["eps"], weight_decay=adamw["weight_decay"])
    opt.step()
    with torch.no_grad():
        return grads, float(model(tokens, masks)[0])


def _stepped_outputs(model, probe):
    """Patch-level states of `probe` (unmasked) and next-byte probabilities after its first 3 patches + 'Hi'."""
    S = model.cfg.patch_size
    with torch.no_grad():
        states = model.patch_level_decoder(torch.tensor([probe]).reshape(1, -1, S))
    tokens = [EOP, 72, 105]
    probs = model.next_byte_probs(torch.tensor(probe[: 3 * S]), torch.tensor(tokens[1:]))
    return states, tokens, probs


def make_vectors(out, cfg: Config, seed=0, files=()):
    """Writes a bundle like test/fixtures/vectors: weights (before the AdamW step), grads of batch_padded,
    cls.* and cases.json. patch_level, generate_probs and the classifier use the weights after that step."""
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(seed)
    model = BGPT(cfg, init=False)
    with torch.no_grad():  # every parameter random (LayerNorm weights around 1): none is a trivial constant
        for name, p in model.named_parameters():
            p.normal_(0.0, 0.02)
            if ".ln_" in name and name.endswith(".weight"):
                p.add_(1.0)
    model.eval()
    params = {k: v.clone() for k, v in model.named_parameters()}
    write_safetensors(os.path.join(out, "weights.safetensors"), params, {"format": "pt"})
    save_pth(os.path.join(out, "weights.pth"), model, epoch=1, best_epoch=1, min_eval_loss=0.5)
    S, L = cfg.patch_size, cfg.patch_length
    rng = np.random.default_rng(seed + 1)
    specs = [("single_txt", [(b"Hi bGPT!", "txt")]), ("partial_patch", [(b"abcde", "bin")]),
             ("batch_padded", [(bytes(range(65, 65 + 5 * S + 2)), "abc"), (b"xyz", "mid")]),
             ("full_context_random", [(rng.integers(0, 256, (L - 2) * S, dtype=np.uint8).tobytes(), "dat")]),
             ("truncated_head", [(rng.integers(0, 256, (L + 3) * S, dtype=np.uint8).tobytes(), "raw")])]
    specs += [("file:" + os.path.basename(f), [(open(f, "rb").read(), extension_of(f))]) for f in files]
    cases = [_case(model, name, [file_patches(d, e, S) for d, e in items]) for name, items in specs]
    adamw = dict(case="batch_padded", lr=1e-3, betas=[0.9, 0.999], eps=1e-8, weight_decay=0.01, loss_before=cases[2]["loss"])
    grads, adamw["loss_after"] = _grads_and_step(model, cases[2], adamw)
    write_safetensors(os.path.join(out, "grads.safetensors"), grads, {"case": "batch_padded"})
    probe = file_patches(b"Hi bGPT!", "txt", S)
    states, tokens, probs = _stepped_outputs(model, probe)
    g = torch.Generator().manual_seed(seed + 7)
    cls = Classifier(cfg, 3, init=False)
    cls.load_state_dict({k: v for k, v in model.state_dict().items() if k.startswith("patch_level_decoder.")}, strict=False)
    with torch.no_grad():
        cls.classifier.weight.copy_(torch.randn(3, cfg.hidden, generator=g) * 0.02)
        cls.classifier.bias.copy_(torch.randn(3, generator=g) * 0.02)
        cls_logits = cls(torch.tensor([probe]))[0]
    write_safetensors(os.path.join(out, "cls.safetensors"), dict(cls.named_parameters()))
    save_pth(os.path.join(out, "cls.pth"), cls, epoch=1, best_epoch=1, max_eval_acc=0.5, labels={"a.txt": 0, "b.txt": 1, "c.txt": 2})
    doc = dict(
        description="bGPT vectors from python/bgpt_torch.py (PyTorch %s, float32, dropout off)" % torch.__version__,
        config=dict(HIDDEN_SIZE=cfg.hidden, PATCH_NUM_LAYERS=cfg.patch_layers, BYTE_NUM_LAYERS=cfg.byte_layers, n_head=cfg.heads,
                    PATCH_SIZE=S, PATCH_LENGTH=L, n_inner=4 * cfg.hidden, layer_norm_epsilon=1e-5, activation="gelu_new (tanh)"),
        cases=cases,
        grads=dict(case="batch_padded", file="grads.safetensors", loss=cases[2]["loss"],
                   note="d loss / d parameter for every parameter (lm_head grad is folded into the tied wte grad)"),
        adamw_step=adamw,
        patch_level=dict(input=probe, shape=list(states.shape), last_hidden_state=_flat(states), mean_pooled=_flat(states.mean(1))),
        generate_probs=dict(context_bytes=probe[: 3 * S], tokens=tokens, probs=_flat(probs), argmax=int(probs.argmax())),
        classifier=dict(file="cls.safetensors / cls.pth", input=probe, logits=_flat(cls_logits), label_size=3),
        note="patch_level, generate_probs and classifier (cls.*) use the weights after adamw_step",
    )
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(doc, f, indent=1)
    return doc


def check_vectors(folder):
    """Recomputes a bundle from its weights.pth and cls.pth; returns the worst error of each kind:
    loss (relative), logits_head (absolute), logits_abs_sum (relative), grads (relative to each tensor's
    largest value), loss_after (relative), patch_level (relative), probs (absolute), classifier (absolute),
    and whether the state dict keys came in the original order."""
    v = json.load(open(os.path.join(folder, "cases.json")))
    c = v["config"]
    cfg = Config(patch_size=c["PATCH_SIZE"], patch_length=c["PATCH_LENGTH"], hidden=c["HIDDEN_SIZE"],
                 patch_layers=c["PATCH_NUM_LAYERS"], byte_layers=c["BYTE_NUM_LAYERS"], heads=c["n_head"])
    model = BGPT(cfg, init=False)
    sd = load_pth(os.path.join(folder, "weights.pth"))["model"]
    model.load_state_dict(sd, strict=True)
    model.eval()
    err = dict(same_keys=list(sd.keys()) == list(model.state_dict().keys()), loss=0.0, logits_head=0.0, logits_abs_sum=0.0)
    for case in v["cases"]:
        tokens, masks = _batch(case)
        with torch.no_grad():
            loss, logits = model(tokens, masks)
        h = case["logits_head"]
        err["loss"] = max(err["loss"], abs(float(loss) - case["loss"]) / case["loss"])
        err["logits_head"] = max(err["logits_head"], float((logits[: h["rows"], : h["positions"]].reshape(-1) - torch.tensor(h["values"])).abs().max()))
        err["logits_abs_sum"] = max(err["logits_abs_sum"], abs(float(logits.double().abs().sum()) - case["logits_abs_sum"]) / case["logits_abs_sum"])
    ref, _ = read_safetensors(os.path.join(folder, "grads.safetensors"))
    case = next(x for x in v["cases"] if x["name"] == v["grads"]["case"])
    grads, loss_after = _grads_and_step(model, case, v["adamw_step"])
    err["grads"] = max(_rel(grads[k], ref[k]) for k in ref)
    err["grads_count"] = len(ref)
    err["loss_after"] = abs(loss_after - v["adamw_step"]["loss_after"]) / v["adamw_step"]["loss_after"]
    states, _, probs = _stepped_outputs(model, v["patch_level"]["input"])
    err["patch_level"] = _rel(states.reshape(-1), torch.tensor(v["patch_level"]["last_hidden_state"]))
    err["probs"] = float((probs - torch.tensor(v["generate_probs"]["probs"])).abs().max())
    cls = load_model(os.path.join(folder, "cls.pth"), heads=cfg.heads)
    with torch.no_grad():
        logits = cls(torch.tensor([v["classifier"]["input"]]))[0]
    err["classifier"] = float((logits - torch.tensor(v["classifier"]["logits"])).abs().max())
    return err


# Tolerances of `check` (fp32). patch_level is looser: it is taken after an AdamW step, whose first update
# lr·g/(|g|+eps) turns rounding-level differences of near-zero gradients into differences of up to lr.
CHECK_TOL = dict(loss=1e-6, logits_head=1e-5, logits_abs_sum=1e-6, grads=1e-5, loss_after=1e-6, patch_level=1e-4, probs=1e-6, classifier=1e-6)


# ---------------------------------------------------------------- benchmark (the shapes of `npm run bench`)

BENCH_CONFIGS = {
    "a": (Config(hidden=128, patch_layers=2, byte_layers=1, patch_size=16, patch_length=64), 8),
    "b": (Config(hidden=256, patch_layers=4, byte_layers=2, patch_size=16, patch_length=256), 4),
    "c": (Config(hidden=768, patch_layers=12, byte_layers=3, patch_size=16, patch_length=512), 1),
}


def _timed(fn, steps, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _generate(model, n, rng):
    """The published scheme: per patch, the patch decoder over every patch so far; per byte, the byte decoder
    over the feature and the patch so far (no caches). <eop> is never sampled, so that exactly n bytes are made."""
    S = model.cfg.patch_size
    tokens = file_patches(b"", "txt", S)[:S]
    made = []
    while len(made) < n and len(tokens) < model.cfg.patch_length * S:
        patch, feature = [], model.last_feature(torch.tensor(tokens))
        while len(patch) < S and len(made) < n:
            p = model.byte_probs(feature, torch.tensor(patch, dtype=torch.long)).double().numpy()
            p[EOP] = 0.0
            patch.append(int(rng.choice(VOCAB, p=p / p.sum())))
            made.append(patch[-1])
        tokens += patch + [EOP] * (S - len(patch))
    return made


def bench(config, what, steps=5, warmup=2, gen_bytes=256):
    """One JSON-ready record, with the fields of `bgpt bench`."""
    cfg, batch = BENCH_CONFIGS[config]
    torch.manual_seed(0)
    model = BGPT(cfg)
    extra = {}
    if what == "gen":
        model.eval()
        rng = np.random.default_rng(0)
        per_step = gen_bytes
        times = _timed(lambda: _generate(model, gen_bytes, rng), min(steps, 3), 1)
        batch, extra["kv_cache"] = 1, False
    else:
        tokens = torch.randint(0, 256, (batch, cfg.patch_length * cfg.patch_size))
        masks = torch.ones(batch, cfg.patch_length, dtype=torch.long)
        per_step = tokens.numel()
        if what == "train":
            model.train()
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            losses = []

            def step():
                loss, _ = model(tokens, masks)
                loss.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
                losses.append(float(loss))

            times = _timed(step, steps, warmup)
            extra.update(loss_first=losses[0], loss_last=losses[-1])
        else:
            model.eval()
            with torch.no_grad():
                times = _timed(lambda: model(tokens, masks), steps, warmup)
    med = statistics.median(times)
    return dict(config=config, what=what, backend="torch", threads=torch.get_num_threads(), bytes_per_s=per_step / med,
                median_s=med, spread_s=[min(times), max(times)], steps=len(times), step_s=[round(t, 4) for t in times],
                bytes_per_step=per_step, params=count_params(model), batch=batch, torch=torch.__version__, **extra)


# ---------------------------------------------------------------- command line


def main(argv=None):
    ap = argparse.ArgumentParser(prog="bgpt_torch.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="recompute a vector bundle and report the worst errors (exit 1 if beyond tolerance)")
    c.add_argument("folder")
    v = sub.add_parser("vectors", help="write a vector bundle like test/fixtures/vectors")
    v.add_argument("--out", required=True)
    for name, default in [("hidden", 64), ("patch-layers", 2), ("byte-layers", 1), ("patch-size", 4), ("patch-length", 8), ("seed", 0)]:
        v.add_argument("--" + name, type=int, default=default)
    v.add_argument("--heads", type=int, default=None)
    v.add_argument("--files", nargs="*", default=[], help="real files to add as cases")
    b = sub.add_parser("bench", help="throughput at the shapes of npm run bench (JSON lines)")
    b.add_argument("--config", default="a,b,c")
    b.add_argument("--what", default="train,fwd,gen")
    b.add_argument("--threads", type=int, default=os.cpu_count())
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args(argv)
    if a.cmd == "check":
        torch.set_num_threads(1)
        err = check_vectors(a.folder)
        bad = [k for k, tol in CHECK_TOL.items() if not err[k] <= tol] + ([] if err["same_keys"] else ["same_keys"])
        print(json.dumps(dict(folder=a.folder, errors=err, tolerances=CHECK_TOL, failed=bad)))
        return 1 if bad else 0
    if a.cmd == "vectors":
        torch.set_num_threads(1)
        cfg = Config(patch_size=a.patch_size, patch_length=a.patch_length, hidden=a.hidden, patch_layers=a.patch_layers,
                     byte_layers=a.byte_layers, heads=a.heads)
        doc = make_vectors(a.out, cfg, a.seed, a.files)
        print(json.dumps(dict(out=a.out, losses={c["name"]: c["loss"] for c in doc["cases"]}, loss_after=doc["adamw_step"]["loss_after"])))
        return 0
    configs, whats = a.config.split(","), a.what.split(",")
    for name in configs:
        if name not in BENCH_CONFIGS:
            ap.error(f"unknown --config {name!r} (a, b or c)")
    for what in whats:
        if what not in ("train", "fwd", "gen"):
            ap.error(f"unknown --what {what!r} (train, fwd or gen)")
    torch.set_num_threads(a.threads)
    for name in configs:
        for what in whats:
            print(json.dumps(bench(name, what, a.steps, a.warmup)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
