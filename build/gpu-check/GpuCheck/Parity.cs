using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Diagnostics;

namespace GpuCheck;

/// <summary>One comparison of a provider and precision against CPU float32 on the parity batch.</summary>
/// <param name="What">The provider and precision compared.</param>
/// <param name="Output">The output compared (logits for float32, scores for float16).</param>
/// <param name="Error">The error measured: relative (max |a - b| over max |reference|) for logits, absolute for scores.</param>
/// <param name="Limit">The largest accepted error; null when the row is for information only.</param>
internal sealed record ParityRow(string What, string Output, double Error, double? Limit)
{
    public bool Passed => Limit is not double limit || Error <= limit;
}

/// <summary>Runs models on sessions and measures how far their outputs are apart.</summary>
internal static class Parity
{
    /// <summary>Target for float32 on another provider: relative error of the logits.</summary>
    public const double Float32Limit = 1e-4;

    /// <summary>Target for a float16 model: absolute error of the scores (probabilities).</summary>
    public const double Float16Limit = 1e-2;

    /// <summary>The named outputs of one run over the parity batch, in the order asked for.</summary>
    public static float[][] Run(InferenceSession session, float[] pixels, int count, int size, params string[] outputs)
    {
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(pixels, new long[] { count, 3, size, size });
        using var runOptions = new RunOptions();
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(runOptions, new[] { OnnxModelContract.InputName }, new[] { input }, outputs);
        return results.Select(r => r.GetTensorDataAsSpan<float>().ToArray()).ToArray();
    }

    /// <summary>max |a - b| over the largest |reference| (the doctor's measure).</summary>
    public static double Relative(float[] actual, float[] reference) => Compare(actual, reference).MaxRelativeError;

    /// <summary>max |a - b|.</summary>
    public static double Absolute(float[] actual, float[] reference) => Compare(actual, reference).MaxAbsoluteError;

    private static ParityResult Compare(float[] actual, float[] reference) =>
        ParityResult.Measure("", actual, Array.ConvertAll(reference, v => (double)v), double.PositiveInfinity);
}
