namespace Miil.ML.Onnx.Diagnostics;

/// <summary>What <c>mlContext.MultiLabel().Doctor()</c> examines.</summary>
public sealed record DoctorOptions
{
    /// <summary>The CUDA device whose provider is loaded and compared with the CPU. Default 0.</summary>
    public int GpuDeviceId { get; set; }

    /// <summary>
    /// Score a tiny built-in model on every usable execution provider and compare with a float64 reference
    /// computed in managed code. Default true (well under a second).
    /// </summary>
    public bool ParityCheck { get; set; } = true;

    /// <summary>
    /// Largest accepted relative error of a float32 provider against the reference: max |a - b| over the
    /// largest |reference|. Default 1e-4.
    /// </summary>
    public double ParityTolerance { get; set; } = 1e-4;

    /// <summary>
    /// Examine libtorch through Miil.ML.TorchSharp when the application carries it (the training side).
    /// Default true; an application without Miil.ML.TorchSharp gets no TorchSharp section either way.
    /// </summary>
    public bool ExamineTorchSharp { get; set; } = true;

    /// <summary>Further probes, run after the built-in ones in this order.</summary>
    internal IList<IDoctorProbe> Probes { get; } = new List<IDoctorProbe>();

    internal void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegative(GpuDeviceId, nameof(GpuDeviceId));
        if (!(ParityTolerance > 0) || double.IsInfinity(ParityTolerance))
        {
            throw new ArgumentOutOfRangeException(nameof(ParityTolerance), ParityTolerance, "ParityTolerance must be a positive finite number.");
        }
    }
}
