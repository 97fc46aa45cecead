using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.TResNet;

/// <summary>
/// The reference's <c>bottleneck_head</c> (the Open Images checkpoint's): a linear embedding of the
/// pooled features (<c>embedding_generator.0</c>, no activation) and the class layer (<c>FC</c>).
/// </summary>
internal sealed class BottleneckHead : nn.Module<Tensor, Tensor>
{
    private readonly nn.Module<Tensor, Tensor> embedding_generator;
    private readonly nn.Module<Tensor, Tensor> FC;

    public BottleneckHead(long numFeatures, long numClasses, long bottleneckFeatures)
        : base(nameof(BottleneckHead))
    {
        embedding_generator = nn.Sequential(("0", nn.Linear(numFeatures, bottleneckFeatures)));
        FC = nn.Linear(bottleneckFeatures, numClasses);
        register_module(nameof(embedding_generator), embedding_generator);
        register_module(nameof(FC), FC);
    }

    public override Tensor forward(Tensor x)
    {
        using Tensor embedding = embedding_generator.forward(x);
        return FC.forward(embedding);
    }
}
