using Miil.ML.Onnx.Graphs;

namespace Miil.ML.TorchSharp.Models.Layers;

/// <summary>
/// A module that writes its own ONNX nodes, next to its forward: a change to a block touches one file,
/// and the exporter only walks the network. Implementations read their weights and constants from the
/// module itself (eval semantics: batch norm folded, dropout off) and rebuild nothing.
/// </summary>
internal interface IOnnxExportable
{
    /// <summary>Adds the nodes that compute this module on <paramref name="input"/> and returns the output's value name.</summary>
    string ToOnnx(OnnxGraphBuilder graph, string input);
}
