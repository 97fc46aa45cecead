using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx.Diagnostics;

namespace Miil.ML.Onnx.Tests.Diagnostics;

/// <summary>
/// The doctor on this machine. Where no NVIDIA driver loads (the development machine and CI), the
/// report must say so, name every library the CUDA provider needs, not try the provider, and still
/// finish the CPU parity check.
/// </summary>
[TestClass]
public sealed class MultiLabelDoctorTests
{
    private static readonly Lazy<DoctorReport> Report = new(() => new MLContext().MultiLabel().Doctor());

    private static bool DriverPresent => OnnxSessionFactory.CudaUnavailableReason() is null;

    [TestMethod]
    public void OnnxRuntimeSectionReportsTheLoadedVersionAndProviders()
    {
        DoctorReport report = Report.Value;
        StringAssert.StartsWith(report.Find("ONNX Runtime", "version")!.Value, OrtEnv.Instance().GetVersionString());
        string providers = report.Find("ONNX Runtime", "providers")!.Value;
        foreach (string provider in OrtEnv.Instance().GetAvailableProviders())
        {
            StringAssert.Contains(providers, provider);
        }
    }

    [TestMethod]
    public void WithoutADriverTheReportNamesItAndEveryLibraryTheProviderLinks()
    {
        if (DriverPresent)
        {
            Assert.Inconclusive("An NVIDIA driver is present: the CPU-only report does not apply.");
        }
        DoctorReport report = Report.Value;
        Assert.IsFalse(report.CudaScoringAvailable);
        DoctorFinding driver = report.Find("CUDA", CudaDriver.LibraryName)!;
        Assert.AreEqual(DoctorStatus.Problem, driver.Status);
        StringAssert.Contains(driver.Fix, "NVIDIA driver");

        string provider = report.Findings.Single(f => f.Item == "CUDA provider library").Value;
        IEnumerable<string> linked = Miil.Build.ElfFile.Needed(provider).Where(n => !CudaRequirements.IsSystemLibrary(n) && n != CudaDriver.LibraryName);
        Assert.IsTrue(linked.Any(), "the provider links CUDA libraries");
        foreach (string library in linked.Append("libcudnn.so.9"))
        {
            DoctorFinding? finding = report.Find("CUDA", library);
            Assert.IsNotNull(finding, $"no finding for {library}");
            bool present = NativeLibrary.TryLoad(library, out IntPtr h);
            if (present)
            {
                NativeLibrary.Free(h);
            }
            Assert.AreEqual(present ? DoctorStatus.Ok : DoctorStatus.Problem, finding.Status, library);
            if (!present)
            {
                StringAssert.Contains(finding.Fix, library);
            }
        }
        DoctorFinding notTried = report.Findings.Single(f => f.Item == "CUDA provider");
        Assert.AreEqual(DoctorStatus.Problem, notTried.Status);
        StringAssert.StartsWith(notTried.Value, "not tried");
        StringAssert.Contains(report.ToString(), "Scoring on GPU: no");
    }

    [TestMethod]
    public void TheProviderProbeReportsAnErrorWhenCudaIsAbsentInsteadOfCrashing()
    {
        if (DriverPresent)
        {
            Assert.Inconclusive("An NVIDIA driver is present.");
        }
        using InferenceSession? session = CudaProviderProbe.TryOpen(ParityModel.Build().Model, 0, tf32: false, out string? error);
        Assert.IsNull(session);
        Assert.IsFalse(string.IsNullOrWhiteSpace(error));
    }

    [TestMethod]
    public void ParityRunsOnTheCpuAgainstTheFloat64Reference()
    {
        DoctorReport report = Report.Value;
        ParityResult cpu = report.Parity.Single(p => p.Provider == "CPU");
        Assert.IsTrue(cpu.Passed);
        Assert.IsTrue(cpu.MaxRelativeError < 1e-5, $"CPU float32 against float64: {cpu.MaxRelativeError}");
        Assert.IsTrue(cpu.MaxAbsoluteError > 0, "float32 rounding leaves some error: a zero would mean the reference was not independent");
        Assert.IsTrue(report.ParityPassed);
    }

    [TestMethod]
    public void ParityFailsWhenOneOutputIsOff()
    {
        ParityModel model = ParityModel.Build();
        float[] outputs = model.Expected.Select(v => (float)v).ToArray();
        Assert.IsTrue(ParityResult.Measure("CPU", outputs, model.Expected, 1e-4).Passed);
        double scale = model.Expected.Max(Math.Abs);
        outputs[3] += (float)(scale * 1e-3);
        ParityResult off = ParityResult.Measure("CPU", outputs, model.Expected, 1e-4);
        Assert.IsFalse(off.Passed);
        Assert.AreEqual(1e-3, off.MaxRelativeError, 1e-4);
        outputs[3] = float.NaN;
        Assert.IsFalse(ParityResult.Measure("CPU", outputs, model.Expected, 1e-4).Passed);
        Assert.IsFalse(ParityResult.Measure("CPU", outputs[..^1], model.Expected, 1e-4).Passed);
    }

    [TestMethod]
    public void SystemSectionNamesGlibcLibStdCxxAndTheCpuFeatures()
    {
        DoctorReport report = Report.Value;
        if (OperatingSystem.IsLinux())
        {
            Assert.IsTrue(Version.TryParse(report.Find("System", "glibc")!.Value, out _), report.Find("System", "glibc")!.Value);
            StringAssert.Contains(report.Find("System", "libstdc++")!.Value, "GLIBCXX_3.4.");
        }
        DoctorFinding bf16 = report.Find("System", "bfloat16")!;
        Assert.AreEqual(CpuFeatures.BFloat16Instructions is null ? DoctorStatus.Warning : DoctorStatus.Ok, bf16.Status);
        StringAssert.Contains(report.Find("System", "CPU")!.Value, System.Runtime.Intrinsics.X86.Avx2.IsSupported ? "AVX2" : "");
    }

    [TestMethod]
    public void TheTextShowsEveryAreaEveryFindingAndTheFixes()
    {
        DoctorReport report = Report.Value;
        string text = report.ToString();
        foreach (DoctorFinding f in report.Findings)
        {
            StringAssert.Contains(text, f.Area);
            StringAssert.Contains(text, f.Value);
            if (f.Fix is not null)
            {
                StringAssert.Contains(text, "fix: " + f.Fix);
            }
        }
        StringAssert.Contains(text, $"{report.Problems.Count} problem(s)");
    }

    [TestMethod]
    public void AProbeThatThrowsBecomesAWarningAndTheOthersFinish()
    {
        var options = new DoctorOptions { ParityCheck = false, ExamineTorchSharp = false };
        options.Probes.Add(new ThrowingProbe());
        DoctorReport report = MultiLabelDoctor.Examine(options);
        DoctorFinding stopped = report.Find("Doctor", nameof(ThrowingProbe))!;
        Assert.AreEqual(DoctorStatus.Warning, stopped.Status);
        StringAssert.Contains(stopped.Value, "probe broke");
        Assert.IsNotNull(report.Find("ONNX Runtime", "version"));
        Assert.AreEqual(0, report.Parity.Count);
    }

    [TestMethod]
    public void OptionsAreChecked()
    {
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MultiLabelDoctor.Examine(new DoctorOptions { GpuDeviceId = -1 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MultiLabelDoctor.Examine(new DoctorOptions { ParityTolerance = 0 }));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => MultiLabelDoctor.Examine(new DoctorOptions { ParityTolerance = double.NaN }));
    }

    [TestMethod]
    public void TheLoaderReasonIsPickedOutOfDotNetsMessage()
    {
        string message = "Unable to load shared library 'libcudart.so.13' or one of its dependencies. In order to help diagnose loading problems, consider using a tool like strace.\n"
            + "libcudart.so.13: cannot open shared object file: No such file or directory\n/app/libcudart.so.13: cannot open shared object file: No such file or directory";
        Assert.AreEqual("libcudart.so.13: cannot open shared object file: No such file or directory", CudaProbe.FirstLine(message));
        Assert.AreEqual("no reason given", CudaProbe.FirstLine(null));
        Assert.AreEqual("one line", CudaProbe.FirstLine("one line"));
    }

    private sealed class ThrowingProbe : IDoctorProbe
    {
        public void Examine(DoctorReport report, DoctorOptions options) => throw new InvalidOperationException("probe broke");
    }
}
