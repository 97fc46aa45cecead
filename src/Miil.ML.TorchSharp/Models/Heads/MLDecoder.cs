using Miil.ML.Onnx.Graphs;
using Miil.ML.TorchSharp.Models.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Models.Heads;

/// <summary>
/// ML-Decoder (Ridnik et al., 2021; Alibaba-MIIL/ML_Decoder, <c>MLDecoder</c>) as the reference computes
/// it: the spatial features become tokens (N x HW x C), a linear projection to the embedding with ReLU
/// (<c>embed_standart</c>), one <see cref="TransformerDecoderLayerOptimal"/> whose fixed, non-learned
/// queries (<c>query_embed</c>) attend to the tokens, then the group fully-connected layer: each query's
/// own weights (<c>duplicate_pooling</c>, G x D x duplicate factor) give its group of classes, the outputs
/// past the class count are cut off, and a bias is added (<c>duplicate_pooling_bias</c>). No positional
/// encoding: any input size works. The reference hangs everything under <c>decoder</c>, so the keys are
/// <c>decoder.*</c> (<c>head.decoder.*</c> in a network).
/// </summary>
internal sealed class MLDecoder : ClassifierHeadModule
{
    private readonly Decoder decoder;

    /// <param name="featureCount">Channels of the spatial features.</param>
    /// <param name="classCount">Outputs.</param>
    /// <param name="queryCount">Queries (groups), at most <paramref name="classCount"/>.</param>
    /// <param name="embedding">The decoder's width.</param>
    public MLDecoder(int featureCount, int classCount, int queryCount, int embedding)
        : base(nameof(MLDecoder))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(queryCount, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(queryCount, classCount);
        ClassCount = classCount;
        QueryCount = queryCount;
        Embedding = embedding;
        // The reference's int(classes / queries + 0.999): the classes each query decodes.
        DuplicateFactor = (int)(classCount / (double)queryCount + 0.999);
        decoder = new Decoder(featureCount, classCount, queryCount, embedding, DuplicateFactor);
        register_module(nameof(decoder), decoder);
    }

    public override ClassifierHead Kind => ClassifierHead.MLDecoder(QueryCount, Embedding);

    public override int ClassCount { get; }

    public int QueryCount { get; }

    public int Embedding { get; }

    public int DuplicateFactor { get; }

    public override Tensor forward(Tensor x)
    {
        // Inside a bfloat16 twin this head keeps float32 (attention softmax and LayerNorm): features come in as the body made them.
        Tensor features = x.dtype == decoder.Dtype ? x : x.to(decoder.Dtype);
        long n = features.shape[0];
        Tensor tokens = features.flatten(2).transpose(1, 2);
        Tensor memory = nn.functional.relu(decoder.embed_standart.call(tokens));
        Tensor queries = decoder.query_embed.weight.unsqueeze(0).expand(n, -1, -1);
        Tensor decoded = decoder.Layer.call(queries, memory);                                   // N x G x D
        Tensor grouped = decoded.transpose(0, 1).matmul(decoder.duplicate_pooling).transpose(0, 1);   // N x G x k
        return grouped.flatten(1)[.., ..ClassCount] + decoder.duplicate_pooling_bias;
    }

    public override string ToOnnx(OnnxGraphBuilder graph, string input)
    {
        // [N, C, H, W] -> [N, HW, C] -> ReLU(linear) to the embedding.
        string flat = graph.Node("Reshape", "tokens_flat", [input, graph.Int64Initializer("tokens_shape", 0, 0, -1)]);
        string tokens = graph.Node("Transpose", "tokens", [flat], OnnxGraphBuilder.Ints("perm", 0, 2, 1));
        string memory = graph.Node("Relu", "memory", [OnnxTensors.Linear(graph, "embed_standart", decoder.embed_standart.weight!, decoder.embed_standart.bias, tokens)]);
        string decoded = decoder.Layer.ToOnnx(graph, decoder.query_embed.weight, memory);
        // Group FC: [N, G, D] -> [G, N, D] x [G, D, k] -> [N, G, k] -> [N, G k], the classes past the count cut off.
        string byGroup = graph.Node("Transpose", "groups", [decoded], OnnxGraphBuilder.Ints("perm", 1, 0, 2));
        string pooled = graph.Node("MatMul", "group_fc", [byGroup, OnnxTensors.Initializer(graph, "duplicate_pooling", decoder.duplicate_pooling)]);
        string back = graph.Node("Transpose", "group_out", [pooled], OnnxGraphBuilder.Ints("perm", 1, 0, 2));
        string flatOut = graph.Node("Reshape", "group_flat", [back, graph.Int64Initializer("group_flat_shape", 0, -1)]);
        string logits = QueryCount * DuplicateFactor == ClassCount ? flatOut
            : graph.Node("Slice", "classes", [flatOut, graph.Int64Initializer("classes_start", 0), graph.Int64Initializer("classes_end", ClassCount), graph.Int64Initializer("classes_axis", 1)]);
        return graph.Node("Add", "group_logits", [logits, OnnxTensors.Initializer(graph, "duplicate_pooling_bias", decoder.duplicate_pooling_bias)]);
    }

    /// <summary>The reference's <c>self.decoder</c>: the layer stack with the projection, the queries and the group FC attached.</summary>
    private sealed class Decoder : nn.Module
    {
        // Own parameters first, then the layer stack and the attached modules, in the reference's order.
        internal readonly Parameter duplicate_pooling;
        internal readonly Parameter duplicate_pooling_bias;
        private readonly ModuleList<TransformerDecoderLayerOptimal> layers;
        internal readonly Linear embed_standart;
        internal readonly FixedQueries query_embed;

        public Decoder(int featureCount, int classCount, int queryCount, int embedding, int duplicateFactor)
            : base(nameof(Decoder))
        {
            duplicate_pooling = new Parameter(empty(queryCount, embedding, duplicateFactor));
            duplicate_pooling_bias = new Parameter(zeros(classCount));
            using (no_grad())
            {
                nn.init.xavier_normal_(duplicate_pooling);
            }
            layers = nn.ModuleList(new TransformerDecoderLayerOptimal(embedding));
            embed_standart = nn.Linear(featureCount, embedding);
            query_embed = new FixedQueries(queryCount, embedding);
            register_parameter(nameof(duplicate_pooling), duplicate_pooling);
            register_parameter(nameof(duplicate_pooling_bias), duplicate_pooling_bias);
            register_module(nameof(layers), layers);
            register_module(nameof(embed_standart), embed_standart);
            register_module(nameof(query_embed), query_embed);
        }

        public TransformerDecoderLayerOptimal Layer => layers[0];

        public ScalarType Dtype => duplicate_pooling.dtype;
    }

    /// <summary>The reference's <c>nn.Embedding</c> with <c>requires_grad_(False)</c>: N(0, 1) queries that never train, kept in the state dict.</summary>
    internal sealed class FixedQueries : nn.Module
    {
        internal readonly Parameter weight;

        public FixedQueries(int count, int embedding)
            : base(nameof(FixedQueries))
        {
            weight = new Parameter(randn(count, embedding), requires_grad: false);
            register_parameter(nameof(weight), weight);
        }
    }
}
