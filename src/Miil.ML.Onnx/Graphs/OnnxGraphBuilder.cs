using Google.Protobuf;
using Onnx;

namespace Miil.ML.Onnx.Graphs;

/// <summary>
/// Accumulates the nodes and initializers of an ONNX graph (OnnxSharp's protobuf types), with unique
/// value names: what network blocks write their ONNX nodes with, next to their forward, and what
/// <see cref="OnnxModelContract.Complete"/> finishes.
/// </summary>
internal sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly Dictionary<string, int> _counters = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph.</summary>
    /// <param name="name">The graph's name.</param>
    public OnnxGraphBuilder(string name)
    {
        _graph = new GraphProto { Name = name };
        // The contract's own names are never handed out to nodes: a block's "logits" would clash with the
        // graph output the contract names so (in the float16 graph, where a cast stands between them).
        foreach (string reserved in new[] { OnnxModelContract.InputName, OnnxModelContract.LogitsName, OnnxModelContract.ScoreName, OnnxModelContract.PredictedLabelsName })
        {
            _counters[reserved] = 0;
        }
    }

    /// <summary>The graph built so far.</summary>
    public GraphProto Graph => _graph;

    /// <summary>A fresh value name with the given stem (the stem itself the first time, then stem_1, stem_2, ...).</summary>
    /// <param name="stem">The name's stem.</param>
    public string Name(string stem)
    {
        int n = _counters.TryGetValue(stem, out int c) ? c + 1 : 0;
        _counters[stem] = n;
        return n == 0 ? stem : $"{stem}_{n}";
    }

    /// <summary>Adds a float32 initializer (row-major values of the given shape) and returns its name.</summary>
    /// <param name="stem">Stem of its name.</param>
    /// <param name="values">Row-major values.</param>
    /// <param name="dims">Its shape.</param>
    public string Initializer(string stem, ReadOnlySpan<float> values, params long[] dims)
    {
        if (dims.Aggregate(1L, (a, d) => a * d) != values.Length)
        {
            throw new ArgumentException($"{values.Length} values do not fill a tensor of shape [{string.Join(", ", dims)}].", nameof(values));
        }
        var proto = new TensorProto
        {
            Name = Name(stem),
            DataType = (int)TensorProto.Types.DataType.Float,
            // ONNX raw data is little-endian, as .NET's floats on every supported platform.
            RawData = ByteString.CopyFrom(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values)),
        };
        proto.Dims.AddRange(dims);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>Adds a one-dimensional int64 initializer (shapes, pads) and returns its name.</summary>
    /// <param name="stem">Stem of its name.</param>
    /// <param name="values">The values.</param>
    public string Int64Initializer(string stem, params long[] values)
    {
        var proto = new TensorProto { Name = Name(stem), DataType = (int)TensorProto.Types.DataType.Int64 };
        proto.Dims.Add(values.Length);
        proto.Int64Data.AddRange(values);
        _graph.Initializer.Add(proto);
        return proto.Name;
    }

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    /// <param name="opType">The ONNX operator (default domain).</param>
    /// <param name="outputStem">Stem of the output's name.</param>
    /// <param name="inputs">Input value names, in the operator's order.</param>
    /// <param name="attributes">The node's attributes.</param>
    public string Node(string opType, string outputStem, IEnumerable<string> inputs, params AttributeProto[] attributes)
        => NodeWithOutput(opType, Name(outputStem), inputs, attributes);

    /// <summary>A node whose output has exactly the name given: the contract's reserved names (<see cref="OnnxModelContract.ScoreName"/>, ...).</summary>
    internal string NodeWithOutput(string opType, string output, IEnumerable<string> inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Name(opType) };
        node.Input.AddRange(inputs);
        node.Output.Add(output);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return output;
    }

    /// <summary>An integer attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Its value.</param>
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    /// <summary>A float attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Its value.</param>
    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    /// <summary>An integer-list attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="values">Its values.</param>
    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }

    /// <summary>A string attribute.</summary>
    /// <param name="name">Attribute name.</param>
    /// <param name="value">Its value.</param>
    public static AttributeProto String(string name, string value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    /// <summary>A tensor value description: element type and dimensions (a string dimension is symbolic).</summary>
    /// <param name="name">The value's name.</param>
    /// <param name="type">Element type.</param>
    /// <param name="dims">Dimensions: integers, or strings for symbolic ones.</param>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (object d in dims)
        {
            shape.Dim.Add(d is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(d, System.Globalization.CultureInfo.InvariantCulture) });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
