using Miil.ML.Onnx.Diagnostics;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// Whether this CPU computes bfloat16 in hardware (<see cref="CpuFeatures.BFloat16Instructions"/>), with a
/// stand-in for tests. Without it libtorch emulates bfloat16 through float32 conversions, several times
/// slower than float32 itself.
/// </summary>
internal static class BFloat16Support
{
    /// <summary>The instruction set found ("AVX512_BF16", "AMX-BF16", "Arm BF16"), or null.</summary>
    public static string? HardwareInstructions => Override is { } answer ? answer() : CpuFeatures.BFloat16Instructions;

    /// <summary>Tests stand in for another CPU here; null for this one.</summary>
    internal static Func<string?>? Override { get; set; }
}
