#!/usr/bin/python3
"""Golden data for the torchvision-style ResNets: two tiny torchvision ResNets with random weights.

Rerun (from the repository root; it writes beside itself, into test/golden/resnet/):

    /usr/bin/python3 test/golden/resnet/make_resnet_golden.py

Needs Debian's python3-torch and python3-torchvision (torch 1.13, torchvision 0.14: `apt-get install
python3-torchvision`); the pyenv `python3` on PATH has no torch. Writes `resnet_tiny_{name}.safetensors`
only where the `safetensors` Python package can be imported (Debian has no package for it; when it is
missing the .safetensors files are skipped and `meta.models.*.files.safetensors` is null). Runs in a few
seconds on one CPU thread and is deterministic: rerunning gives the same files.

How the tiny models are built (faithful to torchvision, only narrower)
---------------------------------------------------------------------
torchvision's `ResNet.__init__` hard-codes the widths: the stem has 64 channels and the stages 64, 128,
256, 512 planes (`width_per_group` only changes the inner width of a Bottleneck), so even a [1,1,1,1]
BasicBlock net has ~4.9 M parameters (20 MB). `TinyResNet` below therefore runs torchvision's own
`ResNet.__init__` unchanged and then rebuilds only the width-dependent modules, with torchvision's own
code: `conv1` (same kernel/stride/padding as torchvision's stem conv, read from it), `bn1` (the model's
`_norm_layer`, i.e. nn.BatchNorm2d), `layer1`..`layer4` through torchvision's own `ResNet._make_layer`
(planes base, 2*base, 4*base, 8*base; strides 1, 2, 2, 2 as torchvision passes them), and `fc`
(nn.Linear(8*base*expansion, num_classes)). Reassigning an attribute that already exists keeps its slot
in `Module._modules`, so the module names and their order - conv1, bn1, relu, maxpool, layer1..layer4,
avgpool, fc - and therefore the state-dict keys and their order are exactly torchvision's. The blocks
are torchvision's `BasicBlock` and `Bottleneck` (ResNet v1.5: the stride sits on the Bottleneck's 3x3
conv2), forward is torchvision's `ResNet.forward`.
"""

import json
import os

import torch
import torch.nn as nn
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
SEED = 20261206

try:
    import safetensors  # noqa: F401
    from safetensors.torch import save_file as save_safetensors
except ImportError:  # Debian ships no safetensors package: skip those files
    save_safetensors = None


class TinyResNet(ResNet):
    """torchvision's ResNet with stage planes [base, 2*base, 4*base, 8*base] instead of [64,128,256,512]."""

    def __init__(self, block, layers, num_classes, base_planes):
        super().__init__(block, layers, num_classes=num_classes)  # torchvision's own constructor
        stem = self.conv1
        # Rebuild the width-dependent modules in place (same attribute names -> same _modules slots).
        self.inplanes = base_planes
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, base_planes, kernel_size=stem.kernel_size, stride=stem.stride,
                               padding=stem.padding, bias=False)
        self.bn1 = self._norm_layer(base_planes)
        self.layer1 = self._make_layer(block, base_planes, layers[0])
        self.layer2 = self._make_layer(block, base_planes * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base_planes * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base_planes * 8, layers[3], stride=2)
        self.fc = nn.Linear(base_planes * 8 * block.expansion, num_classes)
        # torchvision's own initialisation loop, repeated for the rebuilt modules.
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


MODELS = [
    # name, block, layers, base planes, classes
    ("basic", BasicBlock, [1, 1, 2, 1], 8, 7),
    ("bottleneck", Bottleneck, [1, 2, 1, 1], 8, 5),
]

INPUT_SHAPES = [[2, 3, 64, 64], [1, 3, 72, 56], [1, 3, 33, 47]]

STAGES = ["conv1", "bn1", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]


def randomize(model, seed):
    """Kaiming conv weights (torchvision's init), non-trivial batch-norm statistics, small random fc."""
    torch.manual_seed(seed)
    with torch.no_grad():
        for i, m in enumerate(model.modules()):
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(1000 + i)  # int64 scalar; irrelevant in eval mode
            elif isinstance(m, nn.Linear):
                m.weight.normal_(0.0, 0.05)
                m.bias.normal_(0.0, 0.1)


def make_input(shape, seed):
    """torch.rand, quantised to multiples of 1/256 (like 8-bit pixels): exact in float32 and short in JSON."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(shape, generator=g, dtype=torch.float32)
    return torch.floor(x * 256.0) / 256.0


def to_list(t):
    """Nested lists of Python floats holding the tensor's exact values (float32 -> exact double)."""
    return t.detach().to(torch.float64).tolist()


def run_with_stages(model, x):
    outputs = {}
    hooks = [getattr(model, name).register_forward_hook(
        lambda _m, _i, out, name=name: outputs.__setitem__(name, out.detach().clone()))
        for name in STAGES]
    try:
        with torch.no_grad():
            logits = model(x)
    finally:
        for h in hooks:
            h.remove()
    return logits, outputs


def module_constants(model):
    """The fixed hyper-parameters of torchvision's ResNet, read from the built modules."""
    bn = model.bn1
    return {
        "conv1": {"kernel_size": list(model.conv1.kernel_size), "stride": list(model.conv1.stride),
                  "padding": list(model.conv1.padding), "bias": model.conv1.bias is not None},
        "maxpool": {"kernel_size": model.maxpool.kernel_size, "stride": model.maxpool.stride,
                    "padding": model.maxpool.padding, "dilation": model.maxpool.dilation,
                    "ceil_mode": model.maxpool.ceil_mode},
        "avgpool": {"type": "AdaptiveAvgPool2d", "output_size": list(model.avgpool.output_size)},
        "batch_norm": {"eps": bn.eps, "momentum": bn.momentum, "affine": bn.affine,
                       "track_running_stats": bn.track_running_stats},
        "conv3x3": {"padding": 1, "bias": False},
        "downsample": "layerN.0.downsample = Sequential(conv1x1(inplanes, planes*expansion, stride), "
                      "BatchNorm2d) when stride != 1 or inplanes != planes*expansion",
        "stride_position": "BasicBlock: conv1 (3x3); Bottleneck: conv2 (3x3, ResNet v1.5); downsample conv 1x1",
        "stage_strides": [1, 2, 2, 2],
    }


def main():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    inputs = [make_input(shape, SEED + 100 + k) for k, shape in enumerate(INPUT_SHAPES)]

    meta = {
        "generator": "test/golden/resnet/make_resnet_golden.py",
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "seed": SEED,
        "construction": "torchvision.models.resnet.ResNet.__init__, then conv1/bn1/layer1..4 (via "
                        "ResNet._make_layer)/fc rebuilt with planes [b, 2b, 4b, 8b]; module names and order "
                        "are torchvision's",
        "init": {
            "conv": "kaiming_normal_(mode='fan_out', nonlinearity='relu')",
            "bn.weight": "U(0.5, 1.5)", "bn.bias": "N(0, 0.1)", "bn.running_mean": "N(0, 0.1)",
            "bn.running_var": "U(0.5, 1.5)", "bn.num_batches_tracked": "1000 + module index (int64)",
            "fc.weight": "N(0, 0.05)", "fc.bias": "N(0, 0.1)",
            "inputs": "torch.rand quantised to multiples of 1/256 (exact float32)",
        },
        "mode": "eval",
        "models": {},
        "inputs": [],
    }
    for k, x in enumerate(inputs):
        meta["inputs"].append({"index": k, "shape": list(x.shape)})

    cases = []
    for idx, (name, block, layers, base, num_classes) in enumerate(MODELS):
        model = TinyResNet(block, layers, num_classes, base)
        randomize(model, SEED + idx)
        model.eval()
        sd = model.state_dict()

        files = {"pth": f"resnet_tiny_{name}.pth", "safetensors": None}
        torch.save(sd, os.path.join(OUT_DIR, files["pth"]))
        if save_safetensors is not None:
            files["safetensors"] = f"resnet_tiny_{name}.safetensors"
            save_safetensors({k: v.contiguous() for k, v in sd.items()},
                             os.path.join(OUT_DIR, files["safetensors"]),
                             metadata={"format": "pt", "source": f"torchvision ResNet tiny {name}"})

        keys = [{"key": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", "")}
                for k, v in sd.items()]
        num_features = model.fc.in_features
        meta["models"][name] = {
            "block": block.__name__,
            "expansion": block.expansion,
            "layers": layers,
            "base_planes": base,
            "stage_planes": [base, base * 2, base * 4, base * 8],
            "stage_out_channels": [base * block.expansion * f for f in (1, 2, 4, 8)],
            "num_classes": num_classes,
            "num_features": num_features,
            "num_parameters": sum(p.numel() for p in model.parameters()),
            "files": files,
            "constants": module_constants(model),
            "keys": keys,
        }

        model64 = TinyResNet(block, layers, num_classes, base)
        model64.load_state_dict(sd)
        model64 = model64.double().eval()

        for k, x in enumerate(inputs):
            logits, stages = run_with_stages(model, x)
            with torch.no_grad():
                logits64 = model64(x.double())
            features = torch.flatten(stages["avgpool"], 1)
            assert torch.equal(model.fc(features), logits)
            cases.append({
                "model": name,
                "input_index": k,
                "input_shape": list(x.shape),
                "expected_logits": to_list(logits),
                "expected_features": to_list(features),
                "expected_logits_float64": logits64.tolist(),
                "max_abs_diff_float32_vs_float64": float((logits.double() - logits64).abs().max()),
                "stage_shapes": {s: list(stages[s].shape) for s in STAGES},
                "stage_checksums": {s: {"sum": float(stages[s].double().sum()),
                                        "abs_sum": float(stages[s].double().abs().sum())}
                                    for s in STAGES},
            })

    doc = {"meta": meta, "inputs": [to_list(x) for x in inputs], "cases": cases}
    with open(os.path.join(OUT_DIR, "resnet_tiny.json"), "w") as f:
        json.dump(doc, f, separators=(",", ":"), allow_nan=False)
        f.write("\n")

    verify(doc)


def verify(doc):
    """Reload every .pth into fresh torchvision-class models and reproduce the JSON exactly."""
    inputs = [torch.tensor(v, dtype=torch.float64).to(torch.float32) for v in doc["inputs"]]
    for x, v in zip(inputs, doc["inputs"]):
        assert torch.equal(x.double(), torch.tensor(v, dtype=torch.float64)), "input not exact in float32"
    for name, block, layers, base, num_classes in MODELS:
        m = doc["meta"]["models"][name]
        sd = torch.load(os.path.join(OUT_DIR, m["files"]["pth"]))
        assert [k["key"] for k in m["keys"]] == list(sd.keys())
        model = TinyResNet(block, layers, num_classes, base)
        assert list(model.state_dict().keys()) == list(sd.keys())
        model.load_state_dict(sd, strict=True)
        model.eval()
        for case in doc["cases"]:
            if case["model"] != name:
                continue
            with torch.no_grad():
                logits = model(inputs[case["input_index"]])
            expected = torch.tensor(case["expected_logits"], dtype=torch.float64)
            assert torch.equal(logits.double(), expected), f"{name}: logits differ"
    print("verified: reloaded .pth files reproduce expected_logits exactly")


if __name__ == "__main__":
    main()
