using Google.Protobuf;
using Onnx;

namespace Miil.ML.Onnx.Graphs;

/// <summary>
/// Turns a float32 network graph into a float16 one between its float32 input and output: every float
/// initializer and constant becomes float16, the input is cast on the way in and the output on the way
/// out, so that the model's contract (float32 pixels in, float32 scores out) is unchanged.
/// </summary>
internal static class Float16Graph
{
    /// <summary>Converts <paramref name="graph"/> in place; returns the name of the float32 value that now stands for <paramref name="output"/>.</summary>
    /// <param name="graph">The network's nodes and initializers (float32).</param>
    /// <param name="input">The float32 input value the network reads.</param>
    /// <param name="output">The network's float32 output value (for example the logits).</param>
    /// <exception cref="ArgumentException">A float initializer holds a value beyond float16's range (65504).</exception>
    public static string Convert(GraphProto graph, string input, string output)
    {
        ArgumentNullException.ThrowIfNull(graph);
        foreach (TensorProto initializer in graph.Initializer)
        {
            ToHalf(initializer);
        }
        foreach (NodeProto node in graph.Node)
        {
            foreach (AttributeProto attribute in node.Attribute)
            {
                if (attribute.T is not null && node.OpType == "Constant")
                {
                    ToHalf(attribute.T);
                }
                if (node.OpType == "Cast" && attribute.Name == "to" && attribute.I == (long)TensorProto.Types.DataType.Float)
                {
                    attribute.I = (long)TensorProto.Types.DataType.Float16;
                }
            }
        }
        foreach (ValueInfoProto value in graph.ValueInfo.Where(v => v.Type?.TensorType?.ElemType == (int)TensorProto.Types.DataType.Float))
        {
            value.Type.TensorType.ElemType = (int)TensorProto.Types.DataType.Float16;
        }

        string halfInput = Unique(graph, input + "_float16");
        foreach (NodeProto node in graph.Node)
        {
            for (int i = 0; i < node.Input.Count; i++)
            {
                if (node.Input[i] == input)
                {
                    node.Input[i] = halfInput;
                }
            }
        }
        graph.Node.Insert(0, Cast(input, halfInput, TensorProto.Types.DataType.Float16));
        string floatOutput = Unique(graph, output + "_float32");
        graph.Node.Add(Cast(output, floatOutput, TensorProto.Types.DataType.Float));
        return floatOutput;
    }

    private static NodeProto Cast(string from, string to, TensorProto.Types.DataType type)
    {
        var node = new NodeProto { OpType = "Cast", Name = "cast_" + to };
        node.Input.Add(from);
        node.Output.Add(to);
        node.Attribute.Add(OnnxGraphBuilder.Int("to", (long)type));
        return node;
    }

    private static void ToHalf(TensorProto tensor)
    {
        if (tensor.DataType != (int)TensorProto.Types.DataType.Float)
        {
            return;
        }
        float[] values = tensor.RawData.Length > 0
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(tensor.RawData.Span).ToArray()
            : [.. tensor.FloatData];
        byte[] half = new byte[values.Length * 2];
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsFinite(values[i]) && Math.Abs(values[i]) > (float)Half.MaxValue)
            {
                throw new ArgumentException($"Initializer '{tensor.Name}' holds {values[i]}, beyond float16's range: export it in float32.");
            }
            System.Buffers.Binary.BinaryPrimitives.WriteUInt16LittleEndian(half.AsSpan(2 * i), BitConverter.HalfToUInt16Bits((Half)values[i]));
        }
        tensor.FloatData.Clear();
        tensor.RawData = ByteString.CopyFrom(half);
        tensor.DataType = (int)TensorProto.Types.DataType.Float16;
    }

    private static string Unique(GraphProto graph, string name)
    {
        var used = graph.Node.SelectMany(n => n.Output).Concat(graph.Initializer.Select(i => i.Name)).ToHashSet(StringComparer.Ordinal);
        string candidate = name;
        for (int k = 1; used.Contains(candidate); k++)
        {
            candidate = $"{name}_{k}";
        }
        return candidate;
    }
}
