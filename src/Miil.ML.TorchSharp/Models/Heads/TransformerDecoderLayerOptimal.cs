using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Heads;

/// <summary>
/// ML-Decoder's decoder layer (ML_Decoder's <c>TransformerDecoderLayerOptimal</c>): a transformer decoder
/// layer without self-attention. The queries are added to a dropout of themselves and normalised
/// (<c>norm1</c>: in eval they are doubled, kept as the reference has it), attend to the image's tokens
/// (<c>multihead_attn</c>, 8 heads), residual and <c>norm2</c>, feed-forward 2048 wide with ReLU
/// (<c>linear1</c>, <c>linear2</c>), residual and <c>norm3</c>. Dropout 0.1 in training.
/// </summary>
internal sealed class TransformerDecoderLayerOptimal : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>The reference's feed-forward width.</summary>
    public const int FeedForward = 2048;

    /// <summary>The reference's dropout.</summary>
    public const double DropoutRate = 0.1;

    /// <summary>The reference's LayerNorm epsilon (PyTorch's default).</summary>
    public const double LayerNormEpsilon = 1e-5;

    // Registered in the reference's order: the state dict lists them so.
    private readonly LayerNorm norm1;
    private readonly Layers.MultiheadAttention multihead_attn;
    private readonly Linear linear1;
    private readonly Linear linear2;
    private readonly LayerNorm norm2;
    private readonly LayerNorm norm3;

    public TransformerDecoderLayerOptimal(long embedding)
        : base(nameof(TransformerDecoderLayerOptimal))
    {
        norm1 = nn.LayerNorm(embedding, LayerNormEpsilon);
        multihead_attn = new Layers.MultiheadAttention(embedding, ClassifierHead.AttentionHeads, DropoutRate);
        linear1 = nn.Linear(embedding, FeedForward);
        linear2 = nn.Linear(FeedForward, embedding);
        norm2 = nn.LayerNorm(embedding, LayerNormEpsilon);
        norm3 = nn.LayerNorm(embedding, LayerNormEpsilon);
        RegisterComponents();
    }

    /// <summary>Decodes the queries <paramref name="queries"/> [N, G, D] against the tokens <paramref name="memory"/> [N, HW, D].</summary>
    public override Tensor forward(Tensor queries, Tensor memory)
    {
        Tensor tgt = norm1.call(queries + Drop(queries));
        tgt = norm2.call(tgt + Drop(multihead_attn.call(tgt, memory)));
        Tensor feedForward = linear2.call(Drop(nn.functional.relu(linear1.call(tgt))));
        return norm3.call(tgt + Drop(feedForward));
    }

    private Tensor Drop(Tensor x) => training ? nn.functional.dropout(x, DropoutRate, training: true) : x;

    /// <summary>
    /// The layer in ONNX, in eval mode: the queries' first step (<c>norm1(2 q)</c>) does not depend on the
    /// image, so it is computed here, in float64, and the graph starts at the attention.
    /// </summary>
    public string ToOnnx(OnnxGraphBuilder graph, Tensor queries, string memory)
    {
        using var scope = NewDisposeScope();
        Tensor q = queries.detach().to(ScalarType.Float64);
        Tensor first = nn.functional.layer_norm(q * 2, [q.shape[^1]], norm1.weight!.detach().to(ScalarType.Float64), norm1.bias!.detach().to(ScalarType.Float64), norm1.eps);
        string attended = multihead_attn.ToOnnx(graph, first, memory);
        string tgt = OnnxTensors.LayerNorm(graph, "norm2", norm2, graph.Node("Add", "residual1", [OnnxTensors.Initializer(graph, "queries", first), attended]));
        string hidden = graph.Node("Relu", "ff_relu", [OnnxTensors.Linear(graph, "linear1", linear1.weight!, linear1.bias, tgt)]);
        string feedForward = OnnxTensors.Linear(graph, "linear2", linear2.weight!, linear2.bias, hidden);
        return OnnxTensors.LayerNorm(graph, "norm3", norm3, graph.Node("Add", "residual2", [tgt, feedForward]));
    }
}
