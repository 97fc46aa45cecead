using Microsoft.ML;

namespace Miil.ML;

/// <summary>
/// Entry point of Miil.ML's multi-label components, reached through <c>mlContext.MultiLabel()</c>.
/// The packages add their operations to it as extension methods (label mapping and evaluation in
/// Miil.ML, scoring in Miil.ML.Onnx, the TResNet-ASL trainer in Miil.ML.TorchSharp), the way ML.NET's
/// own catalogs are extended.
/// </summary>
public sealed partial class MultiLabelCatalog
{
    internal MultiLabelCatalog(MLContext context)
    {
        Context = context;
    }

    /// <summary>
    /// The context this catalog belongs to: its seed, logging, and GPU settings
    /// (<see cref="MLContext.GpuDeviceId"/>, <see cref="MLContext.FallbackToCpu"/>) apply to every
    /// component created here. Public so that extensions outside this assembly can build on it.
    /// </summary>
    public MLContext Context { get; }
}
