using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx;

namespace GpuCheck;

/// <summary>One row of the throughput table.</summary>
internal sealed record ThroughputRow(string Provider, string Precision, int Batch, bool IoBinding, double ImagesPerSecond, double MillisecondsPerBatch, int Runs);

/// <summary>
/// Times batches of the model on one session. Without IO binding every run hands ONNX Runtime host
/// arrays and gets new host arrays back (what a plain <c>Run</c> costs); with IO binding the input is
/// bound once and the scores stay where the provider computed them (on the GPU for CUDA), so the row
/// shows the provider's own speed.
/// </summary>
internal static class Throughput
{
    public static ThroughputRow Measure(InferenceSession session, Provider provider, string precision, float[] pixels, int batch, int size, bool ioBinding, double seconds)
    {
        using OrtValue input = OrtValue.CreateTensorValueFromMemory(pixels, new long[] { batch, 3, size, size });
        using var runOptions = new RunOptions();
        string[] inputNames = { OnnxModelContract.InputName }, outputNames = { OnnxModelContract.ScoreName };
        OrtValue[] inputs = { input };
        using OrtMemoryInfo memory = provider.OutputMemory();
        using OrtIoBinding binding = session.CreateIoBinding();
        binding.BindInput(OnnxModelContract.InputName, input);
        binding.BindOutputToDevice(OnnxModelContract.ScoreName, memory);

        void Once()
        {
            if (ioBinding)
            {
                session.RunWithBinding(runOptions, binding);
                binding.SynchronizeBoundOutputs();
            }
            else
            {
                session.Run(runOptions, inputNames, inputs, outputNames).Dispose();
            }
        }

        // Warm-up: CUDA picks convolution algorithms and allocates its arena on the first runs.
        for (int i = 0; i < 3; i++)
        {
            Once();
        }
        int runs = 0;
        var clock = Stopwatch.StartNew();
        while (runs < 3 || clock.Elapsed.TotalSeconds < seconds)
        {
            Once();
            runs++;
        }
        double elapsed = clock.Elapsed.TotalSeconds;
        return new ThroughputRow(provider.Name, precision, batch, ioBinding, batch * runs / elapsed, 1000 * elapsed / runs, runs);
    }
}
