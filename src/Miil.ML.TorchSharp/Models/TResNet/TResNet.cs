using Miil.ML.TorchSharp.Numerics;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// TResNet (Ridnik et al., "TResNet: High Performance GPU-Dedicated Architecture", WACV 2021) as the
/// MIIL reference builds it: SpaceToDepth stem, two stages of <see cref="BasicBlock"/> and two of
/// <see cref="Bottleneck"/>, anti-aliased downsampling, squeeze-excite, global mean pooling and a
/// linear head (or the Open Images checkpoint's bottleneck head). Module names follow the reference,
/// so the state dict has the reference's keys and shapes.
/// </summary>
/// <remarks>
/// Input: N x 3 x H x W, RGB scaled to [0, 1] without mean/std normalisation; H and W multiples of 4
/// (SpaceToDepth). Multiples of 32 are the norm; other sizes follow the reference's ceil arithmetic
/// in the shortcut pooling and the padding of the anti-aliasing filter.
/// </remarks>
public sealed class TResNet : nn.Module<Tensor, Tensor>
{
    private readonly Sequential body;
    private nn.Module<Tensor, Tensor> head;

    /// <summary>Builds a TResNet with the reference initialisation.</summary>
    /// <param name="architecture">The variant (<see cref="TResNetArchitecture.M"/>, L, XL or custom).</param>
    /// <param name="numClasses">Outputs of the head.</param>
    /// <param name="bottleneckFeatures">Width of a bottleneck head (512 in the Open Images checkpoint); null for a plain linear head.</param>
    /// <param name="inChannels">Input channels (3 for RGB).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1.</exception>
    public TResNet(TResNetArchitecture architecture, int numClasses, int? bottleneckFeatures = null, int inChannels = 3)
        : base(nameof(TResNet))
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        if (bottleneckFeatures is int b)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(b, 1, nameof(bottleneckFeatures));
        }
        Architecture = architecture;
        NumClasses = numClasses;
        BottleneckFeatures = bottleneckFeatures;
        InChannels = inChannels;

        int planes = architecture.Planes;
        long inPlanes = planes;
        IReadOnlyList<int> layers = architecture.Layers;
        body = nn.Sequential(
            ("SpaceToDepth", new SpaceToDepth()),
            ("conv1", ConvNormAct.Create(inChannels * SpaceToDepth.BlockSize * SpaceToDepth.BlockSize, planes, 3, ConvNormAct.StemSlope)),
            ("layer1", Stage(ref inPlanes, planes, layers[0], stride: 1, bottleneck: false, useSe: true)),
            ("layer2", Stage(ref inPlanes, planes * 2, layers[1], stride: 2, bottleneck: false, useSe: true)),
            ("layer3", Stage(ref inPlanes, planes * 4, layers[2], stride: 2, bottleneck: true, useSe: true)),
            ("layer4", Stage(ref inPlanes, planes * 8, layers[3], stride: 2, bottleneck: true, useSe: false)));
        head = NewHead(numClasses);
        register_module(nameof(body), body);
        register_module(nameof(head), head);
        Initialize();
    }

    /// <summary>The variant.</summary>
    public TResNetArchitecture Architecture { get; }

    /// <summary>Outputs of the head.</summary>
    public int NumClasses { get; private set; }

    /// <summary>Width of the bottleneck head, or null for a plain linear head.</summary>
    public int? BottleneckFeatures { get; }

    /// <summary>Input channels.</summary>
    public int InChannels { get; }

    /// <summary>Width of the pooled features.</summary>
    public int NumFeatures => Architecture.NumFeatures;

    /// <summary>Logits, N x <see cref="NumClasses"/>.</summary>
    /// <exception cref="ArgumentException">The input is not N x <see cref="InChannels"/> x H x W with H and W positive multiples of 4.</exception>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return head.forward(ForwardFeatures(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The globally pooled features the head sees, N x <see cref="NumFeatures"/>.</summary>
    public Tensor ForwardFeatures(Tensor x)
    {
        ValidateInput(x);
        using var scope = NewDisposeScope();
        return body.forward(x).mean([2, 3]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The state dict in PyTorch's order (each module's parameters, then its buffers, module by
    /// module), the order of the reference's files; TorchSharp's own <c>state_dict()</c> lists all
    /// parameters before all buffers. Non-persistent buffers (the anti-aliasing filter) are left out.
    /// </summary>
    public IReadOnlyList<(string Key, Tensor Value)> StateDictInReferenceOrder()
    {
        Dictionary<string, Tensor> state = state_dict();
        var ordered = new List<(string, Tensor)>(state.Count);
        foreach ((string name, nn.Module module) in named_modules())
        {
            string prefix = name.Length == 0 ? "" : name + ".";
            IEnumerable<string> own = module.named_parameters(recurse: false).Select(p => p.name)
                .Concat(module.named_buffers(recurse: false).Select(b => b.name));
            foreach (string key in own.Select(k => prefix + k))
            {
                if (state.TryGetValue(key, out Tensor? value))
                {
                    ordered.Add((key, value));
                }
            }
        }
        return ordered;
    }

    /// <summary>
    /// Replaces the head by a freshly initialised one with <paramref name="numClasses"/> outputs (the
    /// fine-tuning step when a checkpoint's class count differs), on the body's device and type.
    /// </summary>
    public void ReplaceHead(int numClasses)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numClasses, 1);
        Parameter reference = body.parameters().First();
        nn.Module<Tensor, Tensor> fresh = NewHead(numClasses);
        InitializeLinear(fresh);
        fresh.to(reference.device);
        fresh.to(reference.dtype);
        head.Dispose();
        head = fresh;
        register_module(nameof(head), head);
        NumClasses = numClasses;
    }

    /// <summary>A freshly initialised model of this one's architecture, classes, head and input channels, on <paramref name="device"/>.</summary>
    internal TResNet NewOfSameShape(Device device)
    {
        var twin = new TResNet(Architecture, NumClasses, BottleneckFeatures, InChannels);
        twin.to(device);
        return twin;
    }

    /// <summary>Copies every parameter and buffer of <paramref name="source"/> (same shape, any device) into this model.</summary>
    internal void CopyStateFrom(TResNet source)
    {
        using IDisposable noGrad = no_grad();
        Dictionary<string, Tensor> from = source.state_dict();
        foreach ((string key, Tensor value) in state_dict())
        {
            value.copy_(from[key]);
        }
    }

    internal void ValidateInput(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != InChannels)
        {
            throw new ArgumentException(
                $"TResNet expects images as N x {InChannels} x H x W; got shape [{string.Join(", ", x.shape)}].", nameof(x));
        }
        long h = x.shape[2], w = x.shape[3];
        if (h < SpaceToDepth.BlockSize || w < SpaceToDepth.BlockSize || h % SpaceToDepth.BlockSize != 0 || w % SpaceToDepth.BlockSize != 0)
        {
            throw new ArgumentException(
                $"TResNet needs height and width that are positive multiples of {SpaceToDepth.BlockSize} (SpaceToDepth); got {h} x {w}.", nameof(x));
        }
        if (!x.is_floating_point())
        {
            throw new ArgumentException($"TResNet expects floating-point pixels; got {x.dtype}.", nameof(x));
        }
    }

    private nn.Module<Tensor, Tensor> NewHead(int numClasses)
        => nn.Sequential(("fc", BottleneckFeatures is int width
            ? new BottleneckHead(NumFeatures, numClasses, width)
            : nn.Linear(NumFeatures, numClasses)));

    private static Sequential Stage(ref long inPlanes, long planes, int blocks, int stride, bool bottleneck, bool useSe)
    {
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        nn.Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inPlanes != planes * expansion)
        {
            var parts = new List<(string, nn.Module<Tensor, Tensor>)>();
            if (stride == 2)
            {
                parts.Add((parts.Count.ToString(), nn.AvgPool2d(kernel_size: 2, stride: 2, ceil_mode: true, count_include_pad: false)));
            }
            parts.Add((parts.Count.ToString(), ConvNormAct.Create(inPlanes, planes * expansion, 1, leakySlope: null)));
            downsample = nn.Sequential(parts);
        }
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            nn.Module<Tensor, Tensor> block = bottleneck
                ? new Bottleneck(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, useSe)
                : new BasicBlock(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, useSe);
            modules.Add((i.ToString(), block));
            inPlanes = planes * expansion;
        }
        return nn.Sequential(modules);
    }

    /// <summary>
    /// The reference initialisation: convolutions kaiming-normal (fan_out, leaky_relu), norms weight 1
    /// bias 0, the norm that ends each residual branch weight 0, linear weights N(0, 0.01).
    /// </summary>
    private void Initialize()
    {
        using var noGrad = no_grad();
        foreach (nn.Module module in modules())
        {
            switch (module)
            {
                case Conv2d conv:
                    nn.init.kaiming_normal_(conv.weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.LeakyReLU);
                    break;
                case BatchNormAct2d norm:
                    norm.Weight.fill_(Scalars.One);
                    norm.Bias.zero_();
                    break;
            }
        }
        foreach (nn.Module module in modules())
        {
            switch (module)
            {
                case BasicBlock basic:
                    basic.LastNorm.Weight.zero_();
                    break;
                case Bottleneck bottleneck:
                    bottleneck.LastNorm.Weight.zero_();
                    break;
            }
        }
        InitializeLinear(head);
    }

    private static void InitializeLinear(nn.Module module)
    {
        using var noGrad = no_grad();
        foreach (nn.Module m in module.modules())
        {
            if (m is Linear linear)
            {
                linear.weight!.normal_(0, 0.01);
            }
        }
    }
}
