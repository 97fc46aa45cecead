#!/usr/bin/python3
"""PyTorch anchor for the TorchSharp training benchmarks.

TResNet written in plain PyTorch (no timm, no inplace_abn) to the same design as
src/Miil.ML.TorchSharp/Models/TResNet (and so as the MIIL reference), plus a timing loop of
training steps (forward, ASL, backward, Adam) like `train precision` in
test/Miil.ML.Benchmarks/PrecisionBenchmark.cs. The numbers say what stock PyTorch does on the
same CPU, with the same thread count, for the same network and step.

    /usr/bin/python3 tresnet_anchor.py --check-golden /work/shared/golden
    /usr/bin/python3 tresnet_anchor.py --config quickstart:64:32 --config M:224:16 [--steps 5] [--rounds 3] [--threads 2] [--json]

See README.md beside this file.
"""

import argparse
import copy
import datetime
import json
import math
import os
import sys
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 80
POSITIVE_RATE = 0.04

# name -> (blocks per stage, width factor, label). Variants are data, as TResNetArchitecture.
ARCHITECTURES = {
    "quickstart": ([1, 1, 1, 1], 0.5, "QuickStart's ([1,1,1,1] x0.5)"),
    "tiny2222": ([2, 2, 2, 2], 0.75, "[2,2,2,2] x0.75"),
    "M": ([3, 4, 11, 3], 1.0, "TResNet-M"),
    "L": ([4, 5, 18, 3], 1.2, "TResNet-L"),
    "XL": ([4, 5, 24, 3], 1.3, "TResNet-XL"),
}

STEM_SLOPE = 1e-2   # LeakyReLU after the stem convolution
BLOCK_SLOPE = 1e-3  # LeakyReLU inside the residual blocks
BLOCK = 4           # SpaceToDepth block side
BN_EPS = 1e-5       # In-Place ABN's (and batch norm's) epsilon


# ----------------------------------------------------------------------------------------------
# Network
# ----------------------------------------------------------------------------------------------

class SpaceToDepth(nn.Module):
    """(N, C, H, W) -> (N, 16C, H/4, W/4); block offset slowest, input channel fastest (ONNX order)."""

    def forward(self, x):
        n, c, h, w = x.shape
        y = x.view(n, c, h // BLOCK, BLOCK, w // BLOCK, BLOCK).permute(0, 3, 5, 1, 2, 4)
        return y.reshape(n, c * BLOCK * BLOCK, h // BLOCK, w // BLOCK)


class NormAct(nn.BatchNorm2d):
    """Batch norm then LeakyReLU(slope) or nothing: stands where the reference has In-Place ABN.

    State names are batch norm's, so the reference keys (convN.1.weight, ...) hold. In-Place ABN's
    effective scale is |weight| + eps: MIIL checkpoints are converted on load (see load_miil).
    """

    def __init__(self, channels, slope):
        super().__init__(channels, eps=BN_EPS, momentum=0.1)
        self.slope = slope

    def forward(self, x):
        y = super().forward(x)
        return y if self.slope is None else F.leaky_relu(y, self.slope, inplace=True)


def conv_norm_act(cin, cout, kernel, slope):
    """The reference's conv2d_ABN at stride 1: bias-free conv (padding k//2) as '0', NormAct as '1'."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=kernel, stride=1, padding=kernel // 2, bias=False),
        NormAct(cout, slope))


class BlurDownsample(nn.Module):
    """Anti-aliased stride 2: reflect pad 1, fixed depthwise outer([1,2,1],[1,2,1])/16 at stride 2.

    The filter is a constant, not in the state dict (non-persistent buffer), as in the reference.
    """

    def __init__(self, channels):
        super().__init__()
        taps = torch.tensor([1.0, 2.0, 1.0])
        kernel = taps[:, None] * taps[None, :]
        kernel = kernel / kernel.sum()
        self.channels = channels
        self.register_buffer("filt", kernel.expand(channels, 1, 3, 3).contiguous(), persistent=False)

    def forward(self, x):
        padded = F.pad(x, (1, 1, 1, 1), mode="reflect")
        return F.conv2d(padded, self.filt.to(x.dtype), stride=2, groups=self.channels)


def strided_unit(cin, cout, kernel, slope, stride):
    """conv-norm-act at stride 1, followed by the blur when stride is 2 (keys 0.0.*, 0.1.*)."""
    unit = conv_norm_act(cin, cout, kernel, slope)
    return unit if stride == 1 else nn.Sequential(unit, BlurDownsample(cout))


class SqueezeExcite(nn.Module):
    """Spatial mean, 1x1 conv down, ReLU, 1x1 conv up, sigmoid, channel scale (keys fc1, fc2)."""

    def __init__(self, channels, reduced):
        super().__init__()
        self.fc1 = nn.Conv2d(channels, reduced, kernel_size=1, bias=True)
        self.fc2 = nn.Conv2d(reduced, channels, kernel_size=1, bias=True)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = torch.sigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, stride, downsample, use_se):
        super().__init__()
        # Registration order = state-dict order: conv1, conv2, downsample, se.
        self.conv1 = strided_unit(inplanes, planes, 3, BLOCK_SLOPE, stride)
        self.conv2 = conv_norm_act(planes, planes, 3, None)
        self.downsample = downsample
        self.se = SqueezeExcite(planes, max(planes * self.expansion // 4, 64)) if use_se else None

    def last_norm(self):
        return self.conv2[1]

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.conv2(self.conv1(x))
        if self.se is not None:
            y = self.se(y)
        return F.relu(y + shortcut)


class Bottleneck(nn.Module):
    """The v1 bottleneck: SE on the narrow width, between conv2 and conv3."""
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, use_se):
        super().__init__()
        self.conv1 = conv_norm_act(inplanes, planes, 1, BLOCK_SLOPE)
        self.conv2 = strided_unit(planes, planes, 3, BLOCK_SLOPE, stride)
        self.conv3 = conv_norm_act(planes, planes * self.expansion, 1, None)
        self.downsample = downsample
        self.se = SqueezeExcite(planes, max(planes * self.expansion // 8, 64)) if use_se else None

    def last_norm(self):
        return self.conv3[1]

    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        y = self.conv2(self.conv1(x))
        if self.se is not None:
            y = self.se(y)
        y = self.conv3(y)
        return F.relu(y + shortcut)


class TResNet(nn.Module):
    def __init__(self, layers, width_factor, num_classes, in_chans=3):
        super().__init__()
        planes = int(64 * width_factor)
        self._inplanes = planes
        self.num_features = planes * 8 * Bottleneck.expansion
        self.body = nn.Sequential(OrderedDict([
            ("SpaceToDepth", SpaceToDepth()),
            ("conv1", conv_norm_act(in_chans * BLOCK * BLOCK, planes, 3, STEM_SLOPE)),
            ("layer1", self._stage(BasicBlock, planes, layers[0], 1, True)),
            ("layer2", self._stage(BasicBlock, planes * 2, layers[1], 2, True)),
            ("layer3", self._stage(Bottleneck, planes * 4, layers[2], 2, True)),
            ("layer4", self._stage(Bottleneck, planes * 8, layers[3], 2, False)),
        ]))
        self.head = nn.Sequential(OrderedDict([("fc", nn.Linear(self.num_features, num_classes))]))
        self._initialize()

    def _stage(self, block, planes, blocks, stride, use_se):
        out = planes * block.expansion
        downsample = None
        if stride != 1 or self._inplanes != out:
            parts = []
            if stride == 2:
                parts.append(nn.AvgPool2d(kernel_size=2, stride=2, ceil_mode=True, count_include_pad=False))
            parts.append(conv_norm_act(self._inplanes, out, 1, None))
            downsample = nn.Sequential(*parts)
        modules = []
        for i in range(blocks):
            modules.append(block(self._inplanes, planes, stride if i == 0 else 1,
                                 downsample if i == 0 else None, use_se))
            self._inplanes = out
        return nn.Sequential(*modules)

    def _initialize(self):
        """Convs kaiming-normal (fan_out, leaky_relu); norms 1/0, the last norm of each branch 0; linear weights N(0, 0.01)."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="leaky_relu")
                elif isinstance(m, NormAct):
                    m.weight.fill_(1.0)
                    m.bias.zero_()
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)):
                    m.last_norm().weight.zero_()
                elif isinstance(m, nn.Linear):
                    m.weight.normal_(0.0, 0.01)

    def forward_features(self, x):
        return self.body(x).mean((2, 3))

    def forward(self, x):
        return self.head(self.forward_features(x))


def build(name_or_layers, width_factor=None, num_classes=NUM_CLASSES):
    if isinstance(name_or_layers, str):
        layers, width_factor, _ = ARCHITECTURES[name_or_layers]
    else:
        layers = name_or_layers
    return TResNet(layers, width_factor, num_classes)


def load_miil(model, state_dict):
    """Loads a MIIL-layout checkpoint (In-Place ABN weights: scale = |w| + eps, no num_batches_tracked)."""
    norms = {name + ".weight" for name, m in model.named_modules() if isinstance(m, NormAct)}
    converted = OrderedDict()
    for key, value in state_dict.items():
        converted[key] = value.abs() + BN_EPS if key in norms else value
    result = model.load_state_dict(converted, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise RuntimeError(f"checkpoint does not fit: missing {missing}, unexpected {result.unexpected_keys}")
    return len(norms)


# ----------------------------------------------------------------------------------------------
# Loss: Alibaba-MIIL's AsymmetricLoss (src/loss_functions/losses.py), summed
# ----------------------------------------------------------------------------------------------

class AsymmetricLoss(nn.Module):
    def __init__(self, gamma_neg=4, gamma_pos=0, clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=True):
        super().__init__()
        self.gamma_neg = gamma_neg
        self.gamma_pos = gamma_pos
        self.clip = clip
        self.eps = eps
        self.detach_weight = disable_torch_grad_focal_loss

    def forward(self, logits, targets):
        p = torch.sigmoid(logits)
        p_neg = 1 - p
        if self.clip is not None and self.clip > 0:
            p_neg = (p_neg + self.clip).clamp(max=1)       # shifted probability of the negatives
        loss = targets * torch.log(p.clamp(min=self.eps)) + (1 - targets) * torch.log(p_neg.clamp(min=self.eps))
        if self.gamma_neg > 0 or self.gamma_pos > 0:
            with torch.set_grad_enabled(torch.is_grad_enabled() and not self.detach_weight):
                pt = p * targets + p_neg * (1 - targets)
                gamma = self.gamma_pos * targets + self.gamma_neg * (1 - targets)
                weight = torch.pow(1 - pt, gamma)
            loss = loss * weight
        return -loss.sum()


# ----------------------------------------------------------------------------------------------
# Golden check
# ----------------------------------------------------------------------------------------------

def check_golden(folder):
    ok = True
    meta = json.load(open(os.path.join(folder, "tresnet_tiny.json")))
    config = meta["meta"]["config"]
    model = build(config["layers"], config["width_factor"], config["num_classes"])
    expected_keys = [line.split("\t")[0] for line in meta["meta"]["state_dict_keys"]]
    ours = [k for k in model.state_dict() if not k.endswith("num_batches_tracked")]
    keys_ok = ours == expected_keys
    print(f"tiny state-dict keys in the reference's order: {'yes' if keys_ok else 'NO'} ({len(ours)} keys)")
    ok &= keys_ok
    state = torch.load(os.path.join(folder, "tresnet_tiny.pth"), map_location="cpu")
    converted = load_miil(model, state)
    print(f"loaded tresnet_tiny.pth, {converted} norm weights mapped w -> |w| + 1e-5")
    model.eval()
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    worst = {"logits": 0.0, "embeddings": 0.0, "logits channels_last": 0.0}
    with torch.no_grad():
        for case in meta["cases"]:
            x = torch.tensor(case["input"], dtype=torch.float32)
            features = model.forward_features(x)
            logits = model.head(features)
            logits_cl = model_cl(x.contiguous(memory_format=torch.channels_last))
            expected = torch.tensor(case["expected_logits"], dtype=torch.float32)
            d = (logits - expected).abs().max().item()
            de = (features - torch.tensor(case["expected_embeddings"], dtype=torch.float32)).abs().max().item()
            dcl = (logits_cl - expected).abs().max().item()
            print(f"  input {tuple(x.shape)}: max |logits - expected| {d:.3e}, embeddings {de:.3e}, channels_last logits {dcl:.3e}")
            worst["logits"] = max(worst["logits"], d)
            worst["embeddings"] = max(worst["embeddings"], de)
            worst["logits channels_last"] = max(worst["logits channels_last"], dcl)
    model_ok = all(v <= 1e-5 for v in worst.values())
    print(f"TResNet golden: max abs diff logits {worst['logits']:.3e}, embeddings {worst['embeddings']:.3e}, "
          f"channels_last logits {worst['logits channels_last']:.3e} -> {'PASS' if model_ok else 'FAIL'} (tolerance 1e-5)")
    ok &= model_ok

    # Structure of the full-size variants against the reference's key lists (shapes included).
    for name in ("M", "L", "XL"):
        path = os.path.join(folder, f"tresnet_{name.lower()}_keys.txt")
        if not os.path.exists(path):
            continue
        reference = [tuple(line.rstrip("\n").split("\t")[:2]) for line in open(path) if line.strip()]
        full = build(name)
        got = [(k, ",".join(str(s) for s in v.shape)) for k, v in full.state_dict().items()]
        same = got == reference
        params = sum(p.numel() for p in full.parameters())
        print(f"TResNet-{name} (80 classes): {len(got)} state-dict entries, {params:,} parameters; keys and shapes as the reference: {'yes' if same else 'NO'}")
        ok &= same
        del full

    # The loss against the reference's values and gradients (float64).
    loss_path = os.path.join(folder, "asl_loss.json")
    if os.path.exists(loss_path):
        worst_v = worst_g = 0.0
        count = 0
        for case in json.load(open(loss_path))["cases"]:
            if case["loss"] not in ("AsymmetricLoss", "AsymmetricLossOptimized"):
                continue
            p = case["params"]
            loss = AsymmetricLoss(p["gamma_neg"], p["gamma_pos"], p["clip"], p["eps"], p["disable_torch_grad_focal_loss"])
            x = torch.tensor(case["logits"], dtype=torch.float64, requires_grad=True)
            y = torch.tensor(case["targets"], dtype=torch.float64)
            value = loss(x, y)
            value.backward()
            ev, eg = case["value"], torch.tensor(case["grad"], dtype=torch.float64)
            worst_v = max(worst_v, abs(value.item() - ev) / max(1.0, abs(ev)))
            worst_g = max(worst_g, (x.grad - eg).abs().max().item())
            count += 1
        loss_ok = worst_v <= 1e-10 and worst_g <= 1e-10
        print(f"ASL golden ({count} multi-label cases, float64): max rel diff value {worst_v:.3e}, max abs diff grad {worst_g:.3e} -> {'PASS' if loss_ok else 'FAIL'}")
        ok &= loss_ok
    print("golden check:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


# ----------------------------------------------------------------------------------------------
# Benchmark
# ----------------------------------------------------------------------------------------------

VARIANTS = [
    ("float32", False, False),
    ("float32 channels_last", True, False),
    ("bfloat16 autocast", False, True),
    ("bfloat16 autocast channels_last", True, True),
]


def adam_for(model):
    """torch.optim.Adam, lr 1e-4, coupled L2 1e-4 on weights only (the reference's add_weight_decay)."""
    decay, no_decay = [], []
    for name, p in model.named_parameters():
        (no_decay if p.dim() <= 1 or name.endswith(".bias") else decay).append(p)
    return torch.optim.Adam([{"params": no_decay, "weight_decay": 0.0},
                             {"params": decay, "weight_decay": 1e-4}], lr=1e-4)


def bench_config(name, size, batch, steps, rounds, log):
    torch.manual_seed(0)
    model = build(name)
    model_cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
    models = {False: (model, adam_for(model)), True: (model_cl, adam_for(model_cl))}
    for m, _ in models.values():
        m.train()
    loss_fn = AsymmetricLoss(gamma_neg=4, gamma_pos=0, clip=0.05, eps=1e-8, disable_torch_grad_focal_loss=True)
    x = torch.rand(batch, 3, size, size)
    inputs = {False: x, True: x.contiguous(memory_format=torch.channels_last)}
    y = (torch.rand(batch, NUM_CLASSES) < POSITIVE_RATE).float()

    def step(channels_last, bf16):
        m, opt = models[channels_last]
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            logits = m(inputs[channels_last])
        loss = loss_fn(logits.float(), y)
        loss.backward()
        opt.step()
        return loss.item()

    for label, cl, bf16 in VARIANTS:   # warm-up step per variant
        value = step(cl, bf16)
        if not math.isfinite(value):
            log(f"warning: {name} {label}: non-finite loss in warm-up ({value})")
    samples = {label: [] for label, _, _ in VARIANTS}
    for _ in range(rounds):
        for label, cl, bf16 in VARIANTS:
            start = time.perf_counter()
            for _ in range(steps):
                step(cl, bf16)
            samples[label].append(steps * batch / (time.perf_counter() - start))
    return samples


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            flags = ""
            model = "unknown"
            for line in f:
                if line.startswith("model name") and model == "unknown":
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = line.split(":", 1)[1]
            bf16 = [t for t in ("avx512_bf16", "amx_bf16") if t in flags.split()]
            return model, (", ".join(bf16) if bf16 else "none")
    except OSError:
        return "unknown", "unknown"


def parse_config(text):
    parts = text.split(":")
    if len(parts) != 3 or parts[0] not in ARCHITECTURES:
        raise argparse.ArgumentTypeError(f"expected NAME:SIZE:BATCH with NAME in {', '.join(ARCHITECTURES)}; got '{text}'")
    size, batch = int(parts[1]), int(parts[2])
    if size % 4 or size <= 0 or batch <= 0:
        raise argparse.ArgumentTypeError(f"size must be a positive multiple of 4 and batch positive; got '{text}'")
    return parts[0], size, batch


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check-golden", metavar="DIR", help="verify the network and loss against the golden data in DIR")
    ap.add_argument("--config", action="append", type=parse_config, default=[], metavar="NAME:SIZE:BATCH",
                    help="model (quickstart, tiny2222, M; also L, XL), image side, batch; repeatable (default quickstart:64:32)")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per variant per round (default 5)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, variants alternated within each (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON on stdout (the table goes to stderr)")
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    if args.check_golden:
        return check_golden(args.check_golden)

    out = sys.stderr if args.json else sys.stdout

    def log(text=""):
        print(text, file=out, flush=True)

    model, bf16_isa = cpu_model()
    configs = args.config or [("quickstart", 64, 32)]
    log(f"# PyTorch anchor, {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
    log(f"torch {torch.__version__} (oneDNN {torch.backends.mkldnn.is_available() and 'on' or 'off'}), "
        f"{torch.get_num_threads()} threads of {os.cpu_count()} cores, CPU: {model}, bfloat16 instructions: {bf16_isa}")
    log(f"Training steps (forward, ASL gamma-=4 gamma+=0 clip=0.05 summed, backward, Adam lr 1e-4 wd 1e-4) on random images, "
        f"{NUM_CLASSES} classes; {args.rounds} rounds of {args.steps} steps after a warm-up step per variant, variants alternated; "
        f"best img/s, spread over rounds")
    log()
    log("| model | size | batch | variant | img/s (best) | img/s (spread) | vs float32 (best) |")
    log("|---|---:|---:|---|---:|---:|---:|")
    results = []
    for name, size, batch in configs:
        samples = bench_config(name, size, batch, args.steps, args.rounds, log)
        baseline = max(samples["float32"])
        label = ARCHITECTURES[name][2]
        for variant, values in samples.items():
            best, lo = max(values), min(values)
            log(f"| {label} | {size} | {batch} | {variant} | {best:.2f} | {lo:.2f}-{best:.2f} | {best / baseline:.2f}x |")
            results.append({"config": f"{name}:{size}:{batch}", "variant": variant,
                            "best": best, "min": lo, "max": best, "samples": values})
    log()
    for name, size, batch in configs:
        key = f"{name}:{size}:{batch}"
        rows = [r for r in results if r["config"] == key]
        top = max(rows, key=lambda r: r["best"])
        log(f"best overall for {key}: {top['variant']} at {top['best']:.2f} img/s")
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
