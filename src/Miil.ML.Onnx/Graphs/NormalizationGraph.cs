using Google.Protobuf;
using Miil.ML.Images;
using Onnx;

namespace Miil.ML.Onnx.Graphs;

/// <summary>
/// The ONNX graph of a per-channel mean and standard deviation, <c>(pixels - mean[c]) / std[c]</c> over
/// N x 3 x S x S: the step of a saved scoring chain that ML.NET's pixel extraction cannot express (it has
/// one offset for all channels). Run by the stock ONNX transformer, so the values travel in the zip.
/// </summary>
internal static class NormalizationGraph
{
    public static byte[] Build(ImagePreprocessing preprocessing, string inputName, string outputName)
    {
        int size = preprocessing.ImageSize;
        var g = new OnnxGraphBuilder("normalization");
        string mean = g.Initializer("mean", preprocessing.Mean.ToArray(), 1, 3, 1, 1);
        string std = g.Initializer("std", preprocessing.Std.ToArray(), 1, 3, 1, 1);
        string centred = g.Node("Sub", "centred", [inputName, mean]);
        var divide = new NodeProto { OpType = "Div", Name = "scaled" };
        divide.Input.Add(centred);
        divide.Input.Add(std);
        divide.Output.Add(outputName);
        g.Graph.Node.Add(divide);
        g.Graph.Input.Add(OnnxGraphBuilder.Value(inputName, TensorProto.Types.DataType.Float, "batch", 3, size, size));
        g.Graph.Output.Add(OnnxGraphBuilder.Value(outputName, TensorProto.Types.DataType.Float, "batch", 3, size, size));
        var model = new ModelProto { IrVersion = OnnxModelContract.IrVersion, ProducerName = "Miil.ML.Onnx", Graph = g.Graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = OnnxModelContract.Opset });
        model.MetadataProps.Add(new StringStringEntryProto { Key = OnnxModelContract.MetadataKeys.Preprocessing, Value = OnnxModelContract.PreprocessingJson(preprocessing) });
        return model.ToByteArray();
    }
}
