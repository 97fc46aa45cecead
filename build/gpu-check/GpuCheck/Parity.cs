using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx;

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

    public static float[] Run(InferenceSession session, float[] pixels, int count, int size, string output)
    {
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(pixels, new long[] { count, 3, size, size });
        using IDisposableReadOnlyCollection<OrtValue> results = session.Run(new RunOptions(), new[] { OnnxModelContract.InputName }, new[] { input }, new[] { output });
        return results[0].GetTensorDataAsSpan<float>().ToArray();
    }

    public static double Relative(float[] actual, float[] reference)
    {
        double worst = Absolute(actual, reference), scale = reference.Max(v => Math.Abs((double)v));
        return scale == 0 ? worst : worst / scale;
    }

    public static double Absolute(float[] actual, float[] reference)
    {
        if (actual.Length != reference.Length)
        {
            return double.PositiveInfinity;
        }
        double worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - reference[i]);
            worst = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(worst, d);
        }
        return worst;
    }
}
