using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>Scores the tiny built-in model on every usable execution provider and compares each with the float64 reference.</summary>
internal sealed class ParityProbe : IDoctorProbe
{
    public const string Area = "Parity";

    public void Examine(DoctorReport report, DoctorOptions options)
    {
        if (!options.ParityCheck || report.Find(OnnxRuntimeProbe.Area, "version") is null)
        {
            return;
        }
        ParityModel model = ParityModel.Build();
        using (var cpuOptions = new SessionOptions())
        using (var cpu = new InferenceSession(model.Model, cpuOptions))
        {
            Compare(report, "CPU", cpu, model, options.ParityTolerance);
        }
        if (report.CudaScoringAvailable)
        {
            using InferenceSession? cuda = CudaProviderProbe.TryOpen(model.Model, options.GpuDeviceId, tf32: false, out string? error);
            if (cuda is null)
            {
                report.Add(Area, "CUDA", $"session did not open a second time: {error}", DoctorStatus.Problem);
                return;
            }
            Compare(report, "CUDA", cuda, model, options.ParityTolerance);
        }
    }

    private static void Compare(DoctorReport report, string provider, InferenceSession session, ParityModel model, double tolerance)
    {
        float[] actual = Run(session, model);
        ParityResult result = ParityResult.Measure(provider, actual, model.Expected, tolerance);
        report.AddParity(result);
        report.Add(Area, provider, $"max relative error {result.MaxRelativeError:0.0e+0} (max abs {result.MaxAbsoluteError:0.0e+0}) against float64, tolerance {tolerance:0.0e+0}",
            result.Passed ? DoctorStatus.Ok : DoctorStatus.Problem,
            result.Passed ? null : $"The {provider} provider computes wrong results: check the GPU's health (nvidia-smi -q, dmesg for Xid errors) and the library versions above.");
    }

    internal static float[] Run(InferenceSession session, ParityModel model)
    {
        var input = new DenseTensor<float>(model.Input, ParityModel.InputShape.Select(d => (int)d).ToArray());
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> outputs =
            session.Run(new[] { NamedOnnxValue.CreateFromTensor(ParityModel.InputName, input) });
        return outputs.First().AsEnumerable<float>().ToArray();
    }
}
