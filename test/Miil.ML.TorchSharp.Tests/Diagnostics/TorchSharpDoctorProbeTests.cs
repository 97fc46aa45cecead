using Microsoft.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Diagnostics;
using Miil.ML.TorchSharp.Diagnostics;
using TorchSharp;

namespace Miil.ML.TorchSharp.Tests.Diagnostics;

/// <summary>The doctor's libtorch section, found by name from Miil.ML.Onnx when this assembly is present.</summary>
[TestClass]
public sealed class TorchSharpDoctorProbeTests
{
    [TestMethod]
    public void TheDoctorFindsTheProbeAndReportsTheCpuLibtorch()
    {
        DoctorReport report = new MLContext().MultiLabel().Doctor(new DoctorOptions { ParityCheck = false });
        DoctorFinding libtorch = report.Find(TorchSharpDoctorProbe.Area, "libtorch")!;
        StringAssert.Contains(libtorch.Value, typeof(torch).Assembly.GetName().Version!.ToString(3));
        DoctorFinding cuda = report.Find(TorchSharpDoctorProbe.Area, "CUDA")!;
        if (torch.cuda.is_available())
        {
            Assert.IsTrue(report.CudaTrainingAvailable);
            return;
        }
        // The tests carry TorchSharp-cpu: the report must say that this is why training stays on the CPU.
        StringAssert.Contains(libtorch.Value, "CPU build");
        Assert.AreEqual(DoctorStatus.Problem, cuda.Status);
        StringAssert.Contains(cuda.Fix, "TorchSharp-cuda");
        Assert.IsFalse(report.CudaTrainingAvailable);
    }

    [TestMethod]
    public void TheLibStdCxxStepIsReportedAsAppliedWhereTheSystemLibraryIsOlder()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("libstdc++: Linux only.");
        }
        var report = new DoctorReport();
        new TorchSharpDoctorProbe().Examine(report, new DoctorOptions());
        string libstdcxx = File.ReadLines("/proc/self/maps").Select(l => l[(l.IndexOf('/') is int i && i >= 0 ? i : l.Length)..].Trim())
            .First(p => Path.GetFileName(p).StartsWith("libstdc++.so", StringComparison.Ordinal));
        int highest = Enumerable.Range(0, 60).Last(m => File.ReadAllText(libstdcxx, System.Text.Encoding.Latin1).Contains($"GLIBCXX_3.4.{m}\0", StringComparison.Ordinal));
        DoctorFinding step = report.Find(TorchSharpDoctorProbe.Area, "libstdc++ compatibility")!;
        StringAssert.StartsWith(step.Value, highest < 32 ? "applied" : "not needed");
    }

    /// <summary>
    /// The probe comes with the assembly: loaded (this test uses it), the doctor reports libtorch without
    /// being told where to find it, and asked not to, it leaves it out. That an application without the
    /// assembly runs the doctor at all is the ScoringService's test (Repository tests, DoctorFlagTests).
    /// </summary>
    [TestMethod]
    public void TheAssemblyRegistersItsProbeWhenItLoads()
    {
        _ = typeof(TorchSharpDoctorProbe);
        Assert.IsTrue(MultiLabelDoctor.Examine(new DoctorOptions { ParityCheck = false }).Findings.Any(f => f.Area == TorchSharpDoctorProbe.Area));
        Assert.IsFalse(MultiLabelDoctor.Examine(new DoctorOptions { ExamineTorchSharp = false, ParityCheck = false }).Findings.Any(f => f.Area == TorchSharpDoctorProbe.Area));
    }
}
