using System.Text.Json;
using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
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
public sealed class TResNet : MultiLabelNetwork
{
    /// <summary>LeakyReLU slope of the stem convolution.</summary>
    private const double StemSlope = 1e-2;

    /// <summary>LeakyReLU slope inside the residual blocks.</summary>
    internal const double BlockSlope = 1e-3;

    /// <summary>Side of the stem's pixel blocks (SpaceToDepth).</summary>
    internal const int StemBlockSize = 4;

    private readonly Sequence body;
    private readonly Heads.ClassifierHeadModule head;
    private readonly int _numClasses;
    private readonly int _inChannels;

    /// <summary>Builds a TResNet with the reference initialisation.</summary>
    /// <param name="architecture">The variant (<see cref="TResNetArchitecture.M"/>, L, XL or custom).</param>
    /// <param name="classCount">Outputs of the head.</param>
    /// <param name="bottleneckFeatures">Width of a bottleneck head (512 in the Open Images checkpoint); null for a plain linear head.</param>
    /// <param name="head">The head on the spatial features: <see cref="ClassifierHead.Pooling"/> (null, the default) or ML-Decoder.</param>
    /// <param name="inChannels">Input channels (3 for RGB).</param>
    /// <exception cref="ArgumentOutOfRangeException">A count below 1.</exception>
    public TResNet(TResNetArchitecture architecture, int classCount, int? bottleneckFeatures = null, int inChannels = 3, ClassifierHead? head = null)
        : base(nameof(TResNet))
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(inChannels, 1);
        if (bottleneckFeatures is int b)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(b, 1, nameof(bottleneckFeatures));
        }
        Architecture = architecture;
        _numClasses = classCount;
        BottleneckFeatures = bottleneckFeatures;
        _inChannels = inChannels;

        int planes = architecture.Planes;
        long inPlanes = planes;
        IReadOnlyList<int> layers = architecture.Layers;
        body = new Sequence(
            ("SpaceToDepth", new SpaceToDepth(StemBlockSize)),
            ("conv1", new ConvNormAct(inChannels * StemBlockSize * StemBlockSize, planes, 3, StemSlope)),
            ("layer1", Stage(ref inPlanes, planes, layers[0], stride: 1, bottleneck: architecture.IsV2, useSe: true)),
            ("layer2", Stage(ref inPlanes, planes * 2, layers[1], stride: 2, bottleneck: architecture.IsV2, useSe: true)),
            ("layer3", Stage(ref inPlanes, planes * 4, layers[2], stride: 2, bottleneck: true, useSe: true)),
            ("layer4", Stage(ref inPlanes, planes * 8, layers[3], stride: 2, bottleneck: true, useSe: false)));
        if (head is { IsMLDecoder: true } && bottleneckFeatures is not null)
        {
            throw new ArgumentException("A bottleneck head is a pooling head's; ML-Decoder has its own embedding.", nameof(bottleneckFeatures));
        }
        this.head = Heads.ClassifierHeadModule.Create(head ?? ClassifierHead.Pooling, FeatureCount, classCount, bottleneckFeatures);
        register_module(nameof(body), body);
        register_module(nameof(head), this.head);
        Initialize();
    }

    /// <summary>The variant.</summary>
    public TResNetArchitecture Architecture { get; }

    /// <inheritdoc />
    public override int ClassCount => _numClasses;

    /// <summary>Width of the bottleneck head, or null for a plain linear head.</summary>
    public int? BottleneckFeatures { get; }

    /// <summary>The head on the spatial features.</summary>
    public ClassifierHead Head => head.Kind;

    /// <inheritdoc />
    public override int InChannels => _inChannels;

    /// <inheritdoc />
    public override string Family => nameof(TResNet);

    /// <summary>Width of the pooled features.</summary>
    public int FeatureCount => Architecture.FeatureCount;

    /// <summary>Logits, N x <see cref="ClassCount"/>.</summary>
    /// <exception cref="ArgumentException">The input is not N x <see cref="InChannels"/> x H x W with H and W positive multiples of 4.</exception>
    /// <remarks>
    /// The network's entry holds the one dispose scope of a forward (blocks open none): a step's own
    /// scope already owns the temporaries, and a caller without one still gets them freed here.
    /// </remarks>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        ValidateInput(x);
        return head.call(body.call(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The globally pooled features the head sees, N x <see cref="FeatureCount"/>.</summary>
    /// <exception cref="ArgumentException">The input is not N x <see cref="InChannels"/> x H x W with H and W positive multiples of 4.</exception>
    public Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Features(x).MoveToOuterDisposeScope();
    }

    /// <summary>TResNet-ASL's preprocessing: RGB squashed to the side, scaled to [0, 1], no mean/std.</summary>
    internal override ImagePreprocessing Preprocessing(int imageSize) => ImagePreprocessing.Unnormalized(imageSize);

    private Tensor Features(Tensor x)
    {
        ValidateInput(x);
        return body.call(x).mean([2, 3]);
    }

    internal override string Describe() => JsonSerializer.Serialize(new
    {
        family = Family,
        name = Architecture.Name,
        layers = Architecture.Layers,
        width_factor = Architecture.WidthFactor,
        bottleneck_features = BottleneckFeatures,
        v2 = Architecture.IsV2,
        head = Head.IsMLDecoder ? new { kind = "ml_decoder", queries = ((Heads.MLDecoder)head).QueryCount, embedding = Head.Embedding } : null,
        in_channels = InChannels,
        num_classes = ClassCount,
    });

    internal override MultiLabelNetwork CreateTwin() => new TResNet(Architecture, ClassCount, BottleneckFeatures, InChannels, Head);

    internal override string ToOnnx(OnnxGraphBuilder graph, string input, int imageSize) => head.ToOnnx(graph, body.ToOnnx(graph, input));

    internal override string HeadModuleName => nameof(head);

    internal override int InputSizeStep => StemBlockSize;

    private protected override void LoadWeightsFrom(string path) => TResNetCheckpoint.Load(this, path);

    private protected override void SaveCheckpointTo(string path, IReadOnlyList<string>? classNames, int? imageSize)
        => TResNetCheckpoint.Save(this, path, classNames, imageSize);

    private void ValidateInput(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != InChannels)
        {
            throw new ArgumentException(
                $"TResNet expects images as N x {InChannels} x H x W; got shape [{string.Join(", ", x.shape)}].", nameof(x));
        }
        long h = x.shape[2], w = x.shape[3];
        if (h < StemBlockSize || w < StemBlockSize || h % StemBlockSize != 0 || w % StemBlockSize != 0)
        {
            throw new ArgumentException(
                $"TResNet needs height and width that are positive multiples of {StemBlockSize} (SpaceToDepth); got {h} x {w}.", nameof(x));
        }
        if (!x.is_floating_point())
        {
            throw new ArgumentException($"TResNet expects floating-point pixels; got {x.dtype}.", nameof(x));
        }
    }

    private static Sequence Stage(ref long inPlanes, long planes, int blocks, int stride, bool bottleneck, bool useSe)
    {
        int expansion = bottleneck ? Bottleneck.Expansion : BasicBlock.Expansion;
        nn.Module<Tensor, Tensor>? downsample = null;
        if (stride != 1 || inPlanes != planes * expansion)
        {
            var parts = new List<(string, nn.Module<Tensor, Tensor>)>();
            if (stride == 2)
            {
                parts.Add((parts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), new AveragePool(kernelSize: 2, stride: 2)));
            }
            parts.Add((parts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), new ConvNormAct(inPlanes, planes * expansion, 1, leakySlope: null)));
            downsample = new Sequence([.. parts]);
        }
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            nn.Module<Tensor, Tensor> block = bottleneck
                ? new Bottleneck(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, useSe)
                : new BasicBlock(inPlanes, planes, i == 0 ? stride : 1, i == 0 ? downsample : null, useSe);
            modules.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), block));
            inPlanes = planes * expansion;
        }
        return new Sequence([.. modules]);
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
                case AlignedConv2d conv:
                    nn.init.kaiming_normal_(conv.Weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.LeakyReLU);
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
        if (head is Heads.PoolingHead)
        {
            // The reference initialises its own classifier; ML-Decoder comes with the initialisation of its authors.
            InitializeLinear(head);
        }
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
