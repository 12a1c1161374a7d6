"""train_ddp: continue a bgpt training run on many processes with PyTorch's DistributedDataParallel.

The round trip (README, "Scaling out"):

    bgpt export run/model.last.safetensors run/start.pth --optimizer       # weights, AdamW state, schedule
    python3 python/train_ddp.py --nproc 2 --init run/start.pth --train data/ \\
        --out run/model.last.safetensors --steps 100 --batch-size 4
    bgpt train --train data/ --out run/model.safetensors --resume          # or --init run/model.last.safetensors

--nproc N starts N processes on this machine; under torchrun (or any launcher that sets RANK, WORLD_SIZE,
MASTER_ADDR and MASTER_PORT, one process per GPU across machines) leave it out.

Each process takes its share of every global batch (batch size × processes files), with the data rules of
bgpt training: a header patch, the bytes in patches, an end patch; files longer than the patch length cut at
the head, the body or the tail at random; <eop> padding with mask 0; the loss is the mean cross-entropy over
every predicted byte of the global batch (each process scales its summed loss by processes / tokens of all
processes, and DDP averages the gradients). AdamW continues with the exported moments and step; the
learning rate follows the cosine schedule with warm-up when --total-steps is given, else stays at the
exported rate. NCCL on GPUs, gloo on CPUs (--backend to choose).

The output is a bgpt checkpoint (safetensors with bgpt's metadata), written atomically by rank 0: the weights,
the AdamW moments and step, and the training state (epoch, step) that `bgpt train --resume` continues from.
"""
import argparse
import json
import math
import os
import random
import tempfile
import sys

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bgpt_torch as bt  # noqa: E402


def fail(msg):
    print(f"train_ddp: {msg}", file=sys.stderr)
    sys.exit(1)


def list_files(roots):
    """Every regular file under the roots (or the root itself), in sorted order; dot files left out."""
    out = []
    for r in roots:
        if os.path.isfile(r):
            out.append(r)
            continue
        if not os.path.isdir(r):
            fail(f"{r}: no such file or folder")
        for d, dirs, files in os.walk(r):
            dirs[:] = sorted(x for x in dirs if not x.startswith("."))
            out += [os.path.join(d, f) for f in sorted(files) if not f.startswith(".")]
    return out


def cut(patches, S, L, rng):
    """Training truncation: head, body (a random start in [1, N−L] when N > L+1, else tail) or tail."""
    n = len(patches) // S
    if n <= L:
        return patches
    choice, start = rng.randrange(3), 0
    if choice == 1 and n > L + 1:
        start = 1 + rng.randrange(n - L)
    elif choice != 0:
        start = n - L
    return patches[start * S:(start + L) * S]


def cosine_lr(base, step, total, warmup):
    """transformers' get_cosine_schedule_with_warmup at a scheduler position."""
    if step < warmup:
        return base * step / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return base * max(0.0, 0.5 * (1.0 + math.cos(math.pi * progress)))


def param_names(model):
    """Parameter names in state-dict order without buffers and the tied lm_head: the order of the exported
    optimizer state (bgpt's layout) and of model.parameters()."""
    params = dict(model.named_parameters())
    names = [k for k in model.state_dict() if k in params and not k.endswith("lm_head.weight")]
    if [id(params[k]) for k in names] != [id(p) for p in model.parameters()]:
        fail("the model's parameter order differs from its state dict (cannot map the optimizer state)")
    return names


def save_checkpoint(path, model, opt, names, cfg, step, epoch, start, hyper):
    """bgpt's checkpoint format (docs: src/io/meta.ts): weights, moments, metadata; tmp file + rename."""
    params = dict(model.named_parameters())
    tensors = {k: params[k] for k in names}
    for prefix, key in (("optimizer.m.", "exp_avg"), ("optimizer.v.", "exp_avg_sq")):
        tensors.update({prefix + k: opt.state[params[k]][key] for k in names})
    enc = lambda x: json.dumps(x, separators=(",", ":"))
    best = start.get("min_eval_loss")
    best = float(best) if best is not None and float(best) < 100 else {"$num": "Infinity"}
    words = random.Random(step).getrandbits(128)
    metadata = {
        "format": "pt",
        "bgpt.checkpoint": "1",
        "bgpt.version": "train_ddp",
        "bgpt.config": enc({"patchSize": cfg.patch_size, "patchLength": cfg.patch_length, "hidden": cfg.hidden,
                            "patchLayers": cfg.patch_layers, "byteLayers": cfg.byte_layers, "heads": cfg.heads}),
        "bgpt.task": enc({"kind": "generative"}),
        "bgpt.optimizer": enc({"step": step, "lr": hyper["base_lr"], "beta1": hyper["betas"][0], "beta2": hyper["betas"][1],
                               "eps": hyper["eps"], "weightDecay": hyper["weight_decay"]}),
        "bgpt.training": enc({"epoch": epoch, "bestEpoch": int(start.get("best_epoch", 0)), "bestEvalLoss": best,
                              # a fresh generator state for the resumed trainer (never all zero)
                              "rng": {"train": [(words >> (32 * i)) & 0xFFFFFFFF or 1 for i in range(4)] + [None]},
                              "extra": {"step": step, "batch": 0}}),
    }
    tmp = f"{path}.tmp{os.getpid()}"
    bt.write_safetensors(tmp, tensors, metadata)
    os.replace(tmp, path)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--init", required=True, help="a .pth written by `bgpt export … --optimizer`")
    ap.add_argument("--train", nargs="+", required=True, help="training folders (or files)")
    ap.add_argument("--out", required=True, help="bgpt checkpoint to write (.safetensors)")
    ap.add_argument("--steps", type=int, required=True, help="optimizer steps to take")
    ap.add_argument("--batch-size", type=int, default=4, help="files per process per step")
    ap.add_argument("--total-steps", type=int, default=0, help="length of the cosine schedule (0: keep the exported rate)")
    ap.add_argument("--warmup-steps", type=int, default=0)
    ap.add_argument("--patch-sampling", type=int, default=0, help="keep this many patch pairs per batch (0 = all)")
    ap.add_argument("--heads", type=int, default=None, help="attention heads (default hidden // 64)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--backend", choices=["nccl", "gloo"], default=None, help="default: nccl with CUDA, else gloo")
    ap.add_argument("--nproc", type=int, default=0, help="start this many processes here (without torchrun)")
    return ap.parse_args()


def spawned(rank, world, store, a):
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world))
    run(a, f"file://{store}")


def main():
    a = parse_args()
    if a.nproc > 0 and "RANK" not in os.environ:
        # the processes meet through a file (no port to pick, none another program can take first)
        with tempfile.TemporaryDirectory() as d:
            torch.multiprocessing.spawn(spawned, args=(a.nproc, os.path.join(d, "store"), a), nprocs=a.nproc)
    else:
        run(a)


def run(a, init_method=None):

    cuda = torch.cuda.is_available() and a.backend != "gloo"
    backend = a.backend or ("nccl" if cuda else "gloo")
    if init_method:
        dist.init_process_group(backend, init_method=init_method, rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]))
    else:
        dist.init_process_group(backend)
    rank, world = dist.get_rank(), dist.get_world_size()
    local = int(os.environ.get("LOCAL_RANK", 0))
    device = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(device)

    start = bt.load_pth(a.init)
    if not isinstance(start, dict) or "model" not in start or "optimizer" not in start:
        fail(f"{a.init}: not a checkpoint with an optimizer state (export it with `bgpt export … --optimizer`)")
    state = {k: v.float() for k, v in start["model"].items() if not bt._is_buffer(k)}
    cfg = bt.config_of(state, a.heads)
    model = bt.BGPT(cfg, init=False)
    model.load_state_dict({**model.state_dict(), **state})
    model.to(device)
    names = param_names(model)
    group = start["optimizer"]["param_groups"][0]
    if len(group["params"]) != len(names):
        fail(f"{a.init}: optimizer state for {len(group['params'])} tensors, the model has {len(names)}")
    hyper = {"base_lr": group.get("initial_lr", group["lr"]), "betas": tuple(group["betas"]), "eps": group["eps"],
             "weight_decay": group["weight_decay"]}
    opt = torch.optim.AdamW([dict(model.named_parameters())[k] for k in names], lr=group["lr"], betas=hyper["betas"],
                            eps=hyper["eps"], weight_decay=hyper["weight_decay"])
    opt.load_state_dict(start["optimizer"])
    step0 = int(float(next(iter(start["optimizer"]["state"].values()))["step"]))
    # find_unused_parameters: the patch-level wte (positions only) and, with patch sampling, nothing is certain
    ddp = DistributedDataParallel(model, device_ids=[local] if cuda else None, find_unused_parameters=True)

    files = list_files(a.train)
    per_step = a.batch_size * world
    if len(files) < per_step:
        fail(f"{len(files)} training files are fewer than one global batch ({a.batch_size} × {world} processes)")
    steps_per_epoch = len(files) // per_step
    S, L = cfg.patch_size, cfg.patch_length
    rng = random.Random(a.seed * 1000003 + rank)  # truncation choices, per process
    epoch = int(start.get("epoch", 0))
    for i in range(a.steps):
        e, j = divmod(i, steps_per_epoch)
        order = torch.randperm(len(files), generator=torch.Generator().manual_seed(a.seed * 7919 + epoch + e)).tolist()
        mine = order[j * per_step + rank * a.batch_size: j * per_step + (rank + 1) * a.batch_size]
        seqs = []
        for f in mine:
            with open(files[f], "rb") as fh:
                seqs.append(cut(bt.file_patches(fh.read(), bt.extension_of(files[f]), S), S, L, rng))
        tokens, masks = bt.collate(seqs, cfg)
        step = step0 + i
        lr = cosine_lr(hyper["base_lr"], step, a.total_steps, a.warmup_steps) if a.total_steps else group["lr"]
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss, logits = ddp(tokens.to(device), masks.to(device), sample=a.patch_sampling)
        count = torch.tensor([float(logits.shape[0] * S)], device=device)
        dist.all_reduce(count)
        # DDP averages gradients over processes: scaling each summed loss by world / all tokens makes the
        # result the gradient of the mean over every predicted byte of the global batch
        (loss * (logits.shape[0] * S) * world / count).backward()
        opt.step()
        total = torch.stack([loss.detach() * logits.shape[0] * S])
        dist.all_reduce(total)
        if rank == 0:
            print(json.dumps({"step": step + 1, "loss": float(total) / float(count), "lr": lr}), flush=True)
    if rank == 0:
        save_checkpoint(a.out, model, opt, names, cfg, step0 + a.steps, epoch + a.steps // steps_per_epoch, start, hyper)
        print(json.dumps({"wrote": a.out, "step": step0 + a.steps}), flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
