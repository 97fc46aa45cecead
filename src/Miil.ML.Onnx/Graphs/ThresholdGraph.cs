using Google.Protobuf;
using Onnx;

namespace Miil.ML.Onnx.Graphs;

/// <summary>
/// The ONNX graph of per-class thresholds: <c>decisions = scores &gt; thresholds</c> over a batch of
/// score vectors, with the thresholds as an initializer. Run by ML.NET's stock ONNX transformer, so
/// a saved model holds the thresholds inside its zip.
/// </summary>
internal static class ThresholdGraph
{
    public static byte[] Build(IReadOnlyList<float> thresholds, string scoreName, string decisionName)
    {
        var g = new OnnxGraphBuilder("thresholds");
        string limits = g.Initializer("thresholds", thresholds.ToArray(), thresholds.Count);
        var node = new NodeProto { OpType = "Greater", Name = "greater" };
        node.Input.Add(scoreName);
        node.Input.Add(limits);
        node.Output.Add(decisionName);
        g.Graph.Node.Add(node);
        g.Graph.Input.Add(OnnxGraphBuilder.Value(scoreName, TensorProto.Types.DataType.Float, "batch", thresholds.Count));
        g.Graph.Output.Add(OnnxGraphBuilder.Value(decisionName, TensorProto.Types.DataType.Bool, "batch", thresholds.Count));
        var model = new ModelProto { IrVersion = OnnxModelContract.IrVersion, ProducerName = "Miil.ML.Onnx", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxModelContract.Opset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = OnnxModelContract.MetadataKeys.Thresholds, Value = OnnxModelContract.ThresholdsJson(thresholds) });
        return model.ToByteArray();
    }
}
