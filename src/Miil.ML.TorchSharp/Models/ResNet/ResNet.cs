using System.Text.Json;
using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Heads;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.ResNet;

/// <summary>
/// ResNet as torchvision builds it (<c>torchvision.models.resnet.ResNet</c>; timm's <c>resnet18</c> to
/// <c>resnet50</c> share its keys): <c>conv1</c> 7x7 stride 2, <c>bn1</c> and ReLU, 3x3 stride-2 max
/// pooling, four stages <c>layer1</c>..<c>layer4</c> of <see cref="ResNetBlock"/>s (stride 2 from the second
/// stage on), then the head on the last stage's features (global pooling and <c>fc</c>, or ML-Decoder).
/// The head's keys are <c>head.*</c> here (a family's head always is); torchvision's <c>fc.*</c> map onto
/// them on load. ML.NET's ResNet18 (<see cref="ResNetArchitecture.MLNetResNet18"/>) starts with its mean image.
/// </summary>
public sealed class ResNet : MultiLabelNetwork
{
    private readonly MeanImage? input_mean;
    private readonly AlignedConv2d conv1;
    private readonly BatchNormAct2d bn1;
    private readonly Sequence layer1;
    private readonly Sequence layer2;
    private readonly Sequence layer3;
    private readonly Sequence layer4;
    private readonly ClassifierHeadModule head;
    private readonly int _classCount;

    /// <summary>Builds a ResNet with torchvision's initialisation (the head's as the head has it).</summary>
    /// <param name="architecture">The variant.</param>
    /// <param name="classCount">Outputs of the head.</param>
    /// <param name="head">The head: pooling (null, the default) or ML-Decoder.</param>
    /// <exception cref="ArgumentOutOfRangeException">A class count below 1.</exception>
    public ResNet(ResNetArchitecture architecture, int classCount, ClassifierHead? head = null)
        : this(architecture, classCount, head, meanImage: null)
    {
    }

    /// <summary>ML.NET's ResNet18 carries its mean image (1 x 3 x H x W, BGR 0-255); other variants none.</summary>
    internal ResNet(ResNetArchitecture architecture, int classCount, ClassifierHead? head, Tensor? meanImage)
        : base(nameof(ResNet))
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentOutOfRangeException.ThrowIfLessThan(classCount, 1);
        Architecture = architecture;
        _classCount = classCount;
        if (architecture.IsMLNet)
        {
            input_mean = new MeanImage(meanImage ?? zeros(1, 3, 224, 224));
            register_module(nameof(input_mean), input_mean);
        }
        long planes = architecture.BasePlanes, inPlanes = planes;
        conv1 = new AlignedConv2d(3, planes, 7, stride: 2, padding: 3);
        bn1 = new BatchNormAct2d(planes, 0.0);
        register_module(nameof(conv1), conv1);
        register_module(nameof(bn1), bn1);
        layer1 = Stage(ref inPlanes, planes, architecture.Layers[0], 1, architecture.IsBottleneck);
        layer2 = Stage(ref inPlanes, planes * 2, architecture.Layers[1], 2, architecture.IsBottleneck);
        layer3 = Stage(ref inPlanes, planes * 4, architecture.Layers[2], 2, architecture.IsBottleneck);
        layer4 = Stage(ref inPlanes, planes * 8, architecture.Layers[3], 2, architecture.IsBottleneck);
        register_module(nameof(layer1), layer1);
        register_module(nameof(layer2), layer2);
        register_module(nameof(layer3), layer3);
        register_module(nameof(layer4), layer4);
        this.head = ClassifierHeadModule.Create(head ?? ClassifierHead.Pooling, architecture.FeatureCount, classCount);
        register_module(nameof(head), this.head);
        Initialize();
    }

    /// <summary>The variant.</summary>
    public ResNetArchitecture Architecture { get; }

    /// <summary>The head on the last stage's features.</summary>
    public ClassifierHead Head => head.Kind;

    /// <inheritdoc />
    public override int ClassCount => _classCount;

    /// <inheritdoc />
    public override int InChannels => 3;

    /// <inheritdoc />
    public override string Family => "ResNet";

    /// <summary>Width of the pooled features.</summary>
    public int FeatureCount => Architecture.FeatureCount;

    /// <summary>Logits, N x <see cref="ClassCount"/>.</summary>
    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        return head.call(Body(x)).MoveToOuterDisposeScope();
    }

    /// <summary>The globally pooled features of the last stage, N x <see cref="FeatureCount"/> (what ML.NET's DnnFeaturizeImage gives for its ResNet18).</summary>
    public Tensor ForwardFeatures(Tensor x)
    {
        using var scope = NewDisposeScope();
        return Body(x).mean([2, 3]).MoveToOuterDisposeScope();
    }

    private Tensor Body(Tensor x)
    {
        if (x.dim() != 4 || x.shape[1] != 3 || !x.is_floating_point())
        {
            throw new ArgumentException($"ResNet expects floating-point images as N x 3 x H x W; got {x.dtype} [{string.Join(", ", x.shape)}].", nameof(x));
        }
        Tensor y = input_mean is null ? x : input_mean.call(x);
        y = nn.functional.max_pool2d(bn1.call(conv1.call(y)), 3, 2, 1);
        return layer4.call(layer3.call(layer2.call(layer1.call(y))));
    }

    internal override ImagePreprocessing Preprocessing(int imageSize) => Architecture.Preprocessing(imageSize);

    internal override string Describe() => JsonSerializer.Serialize(new
    {
        family = Family,
        name = Architecture.Name,
        layers = Architecture.Layers,
        bottleneck = Architecture.IsBottleneck,
        base_planes = Architecture.BasePlanes,
        mlnet = Architecture.IsMLNet,
        head = Head.ToString(),
        num_classes = ClassCount,
    });

    internal override MultiLabelNetwork CreateTwin() => new ResNet(Architecture, ClassCount, Head, input_mean is null ? null : MeanImageTensor);

    /// <summary>ML.NET's mean image (null for other variants).</summary>
    internal Tensor? MeanImageTensor => input_mean?.named_buffers().Single().buffer;

    internal override string ToOnnx(OnnxGraphBuilder graph, string input, int imageSize)
    {
        string y = input_mean is null ? input : input_mean.ToOnnx(graph, input, imageSize);
        y = OnnxTensors.ConvNorm(graph, conv1, bn1, y);
        y = graph.Node("MaxPool", "maxpool", [y], OnnxGraphBuilder.Ints("kernel_shape", 3, 3), OnnxGraphBuilder.Ints("strides", 2, 2), OnnxGraphBuilder.Ints("pads", 1, 1, 1, 1));
        y = layer4.ToOnnx(graph, layer3.ToOnnx(graph, layer2.ToOnnx(graph, layer1.ToOnnx(graph, y))));
        return head.ToOnnx(graph, y);
    }

    internal override string HeadModuleName => nameof(head);

    internal override int InputSizeStep => Architecture.InputSizeStep;

    private protected override void LoadWeightsFrom(string path) => ResNetCheckpoint.Load(this, path);

    private protected override void SaveCheckpointTo(string path, IReadOnlyList<string>? classNames, int? imageSize)
        => ResNetCheckpoint.Save(this, path, classNames, imageSize);

    private static Sequence Stage(ref long inPlanes, long planes, int blocks, int stride, bool bottleneck)
    {
        var modules = new List<(string, nn.Module<Tensor, Tensor>)>();
        for (int i = 0; i < blocks; i++)
        {
            modules.Add((i.ToString(System.Globalization.CultureInfo.InvariantCulture), new ResNetBlock(inPlanes, planes, i == 0 ? stride : 1, bottleneck)));
            inPlanes = planes * (bottleneck ? 4 : 1);
        }
        return new Sequence([.. modules]);
    }

    /// <summary>torchvision's initialisation: convolutions kaiming-normal (fan_out, ReLU), norms weight 1 and bias 0; the head's own.</summary>
    private void Initialize()
    {
        using var noGrad = no_grad();
        foreach (nn.Module module in modules())
        {
            switch (module)
            {
                case AlignedConv2d conv:
                    nn.init.kaiming_normal_(conv.Weight, mode: nn.init.FanInOut.FanOut, nonlinearity: nn.init.NonlinearityType.ReLU);
                    break;
                case BatchNormAct2d norm:
                    norm.Weight.fill_(1.0f);
                    norm.Bias.zero_();
                    break;
            }
        }
    }
}
