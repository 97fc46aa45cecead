using System.Diagnostics;
using Miil.ML.TorchSharp.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// <see cref="TrainingPrecision.Auto"/>: which precision trains this network faster on this device, measured rather
/// than assumed. Whether bfloat16 pays depends on both: on the AMD EPYC host of the pool it gave TResNet-M 1.93x and
/// the QuickStart's network 1.17x, on an Intel Xeon without AMX TResNet-M 0.80x. A fresh network of the same shape
/// runs forward and backward on random images in each precision (a warm-up pass each, then the best of a few timed
/// passes, alternated); the run's own network, its statistics and libtorch's random state are left untouched.
/// </summary>
internal static class PrecisionProbe
{
    /// <summary>Timed passes of each precision after the warm-up.</summary>
    public const int Passes = 2;

    /// <summary>The probe's batch at most: the ratio of the two precisions settles well below a training batch, and the probe stays seconds long.</summary>
    public const int MaxBatch = 16;

    /// <summary>bfloat16 must be this much faster to be chosen: a tie keeps float32's exact arithmetic.</summary>
    public const double Margin = 1.05;

    /// <summary>The faster precision and the measured seconds per pass of each.</summary>
    public static (TrainingPrecision Choice, double Float32Seconds, double BFloat16Seconds) Measure(MultiLabelNetwork model, Device device, int imageSize, int batchSize, bool normInFloat32)
    {
        Tensor generator = torch.random.get_rng_state();
        try
        {
            using MultiLabelNetwork probe = model.NewOfSameShape(device);
            probe.train();
            using var passes = new BFloat16Passes(probe, device, normInFloat32, probe.named_parameters().Select(p => p.name).ToList());
            using Tensor images = rand([Math.Min(batchSize, MaxBatch), 3, imageSize, imageSize], device: device);
            void Float32()
            {
                using var scope = NewDisposeScope();
                probe.zero_grad();
                probe.call(images).sum().backward();
            }
            void BFloat16()
            {
                using var scope = NewDisposeScope();
                passes.Forward(images).sum().backward();
            }
            Float32();
            BFloat16();
            double float32 = double.MaxValue, bfloat16 = double.MaxValue;
            for (int i = 0; i < Passes; i++)
            {
                float32 = Math.Min(float32, Seconds(Float32));
                bfloat16 = Math.Min(bfloat16, Seconds(BFloat16));
            }
            return (float32 > bfloat16 * Margin ? TrainingPrecision.BFloat16 : TrainingPrecision.Float32, float32, bfloat16);
        }
        finally
        {
            torch.random.set_rng_state(generator);
            generator.Dispose();
        }
    }

    private static double Seconds(Action pass)
    {
        var clock = Stopwatch.StartNew();
        pass();
        return clock.Elapsed.TotalSeconds;
    }
}
