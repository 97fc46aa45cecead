using Miil.ML.Onnx.Graphs;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// Multi-head attention as PyTorch's <c>nn.MultiheadAttention</c> computes it (no masks, no added key or
/// value biases): one packed input projection <c>in_proj_weight</c> / <c>in_proj_bias</c> (query, key,
/// value rows in that order), scaled dot products per head, softmax over the keys, dropout on the
/// weights in training, and <c>out_proj</c>. Batch first here ([N, L, E]); PyTorch's default is
/// sequence first, which changes the layout, not the arithmetic.
/// </summary>
internal sealed class MultiheadAttention : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Parameter in_proj_weight;
    private readonly Parameter in_proj_bias;
    private readonly Linear out_proj;
    private readonly long _embedding;

    public MultiheadAttention(long embedding, int heads, double dropout)
        : base(nameof(MultiheadAttention))
    {
        if (embedding % heads != 0)
        {
            throw new ArgumentException($"An embedding of {embedding} does not split over {heads} heads.", nameof(embedding));
        }
        _embedding = embedding;
        Heads = heads;
        Dropout = dropout;
        in_proj_weight = new Parameter(empty(3 * embedding, embedding));
        in_proj_bias = new Parameter(zeros(3 * embedding));
        out_proj = nn.Linear(embedding, embedding);
        // PyTorch's _reset_parameters: xavier-uniform packed projection, zero biases.
        using (no_grad())
        {
            nn.init.xavier_uniform_(in_proj_weight);
            out_proj.bias!.zero_();
        }
        register_parameter(nameof(in_proj_weight), in_proj_weight);
        register_parameter(nameof(in_proj_bias), in_proj_bias);
        register_module(nameof(out_proj), out_proj);
    }

    public int Heads { get; }

    public double Dropout { get; }

    private long HeadWidth => _embedding / Heads;

    /// <summary>Attends from <paramref name="query"/> [N, Lq, E] to <paramref name="memory"/> [N, Lk, E] (keys and values alike).</summary>
    public override Tensor forward(Tensor query, Tensor memory)
    {
        long n = memory.shape[0], lq = query.shape[^2], lk = memory.shape[1];
        Tensor q = nn.functional.linear(query, in_proj_weight[..(int)_embedding], in_proj_bias[..(int)_embedding]);
        Tensor k = nn.functional.linear(memory, in_proj_weight[(int)_embedding..(int)(2 * _embedding)], in_proj_bias[(int)_embedding..(int)(2 * _embedding)]);
        Tensor v = nn.functional.linear(memory, in_proj_weight[(int)(2 * _embedding)..], in_proj_bias[(int)(2 * _embedding)..]);
        // PyTorch scales the queries before the product.
        q = (q * (1.0 / Math.Sqrt(HeadWidth))).reshape(n, lq, Heads, HeadWidth).transpose(1, 2);
        k = k.reshape(n, lk, Heads, HeadWidth).transpose(1, 2);
        v = v.reshape(n, lk, Heads, HeadWidth).transpose(1, 2);
        Tensor weights = q.matmul(k.transpose(2, 3)).softmax(-1);
        if (training && Dropout > 0)
        {
            weights = nn.functional.dropout(weights, Dropout, training: true);
        }
        Tensor heads = weights.matmul(v).transpose(1, 2).reshape(n, lq, _embedding);
        return out_proj.call(heads);
    }

    /// <summary>
    /// The attention in ONNX from queries known at export (<paramref name="query"/>, [Lq, E], the same for
    /// every image) to <paramref name="memory"/> ([N, Lk, E] in the graph): the query projection is done
    /// here, once, in float64; the keys, values and the rest are MatMul, Softmax and reshapes.
    /// </summary>
    public string ToOnnx(OnnxGraphBuilder graph, Tensor query, string memory)
    {
        using var scope = NewDisposeScope();
        long lq = query.shape[0];
        Tensor w = in_proj_weight.detach().to(ScalarType.Float64), b = in_proj_bias.detach().to(ScalarType.Float64);
        long e = _embedding;
        Tensor q = (query.to(ScalarType.Float64).matmul(w[..(int)e].t()) + b[..(int)e]) * (1.0 / Math.Sqrt(HeadWidth));
        // [Lq, E] -> [heads, Lq, head width]: broadcast against every image's keys.
        Tensor qHeads = q.reshape(lq, Heads, HeadWidth).transpose(0, 1).contiguous();
        string k = OnnxTensors.Linear(graph, "attn_k", in_proj_weight[(int)e..(int)(2 * e)], in_proj_bias[(int)e..(int)(2 * e)], memory);
        string v = OnnxTensors.Linear(graph, "attn_v", in_proj_weight[(int)(2 * e)..], in_proj_bias[(int)(2 * e)..], memory);
        string split = graph.Int64Initializer("attn_split", 0, 0, Heads, HeadWidth);
        // [N, Lk, E] -> [N, heads, head width, Lk] for the keys, [N, heads, Lk, head width] for the values.
        string kT = graph.Node("Transpose", "attn_kt", [graph.Node("Reshape", "attn_k_heads", [k, split])], OnnxGraphBuilder.Ints("perm", 0, 2, 3, 1));
        string vH = graph.Node("Transpose", "attn_vh", [graph.Node("Reshape", "attn_v_heads", [v, split])], OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3));
        string scores = graph.Node("MatMul", "attn_scores", [OnnxTensors.Initializer(graph, "attn_q", qHeads), kT]);
        string weights = graph.Node("Softmax", "attn_weights", [scores], OnnxGraphBuilder.Int("axis", -1));
        string heads = graph.Node("Transpose", "attn_heads", [graph.Node("MatMul", "attn_mix", [weights, vH])], OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3));
        string joined = graph.Node("Reshape", "attn_joined", [heads, graph.Int64Initializer("attn_join", 0, 0, e)]);
        return OnnxTensors.Linear(graph, "attn_out", out_proj.weight!, out_proj.bias, joined);
    }
}
