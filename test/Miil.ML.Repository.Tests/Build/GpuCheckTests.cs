using System.Diagnostics;
using System.Text;
using Miil.ML.Datasets;
using Miil.ML.Onnx;
using Miil.ML.Repository.Tests.Infrastructure;
using Miil.ML.Testing;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using static TorchSharp.torch;

namespace Miil.ML.Repository.Tests.Build;

/// <summary>
/// The GPU check app (build/gpu-check/GpuCheck) on tiny models here: the CPU half, its table and exit
/// codes. The pack-and-reassemble script itself is exercised by <c>run.sh --dry-run</c> (minutes and
/// half a gigabyte: not a unit test); here it must at least be executable and valid bash.
/// </summary>
[TestClass]
public sealed class GpuCheckTests
{
    private static void WriteModels(string folder, long seed16)
    {
        Directory.CreateDirectory(folder);
        TResNetArchitecture tiny = TResNetArchitecture.Custom([1, 1, 1, 1], 0.25);
        foreach ((OnnxPrecision precision, long seed) in new[] { (OnnxPrecision.Float32, 3L), (OnnxPrecision.Float16, seed16) })
        {
            manual_seed(seed);
            using var network = new TResNet(tiny, 6);
            network.eval();
            OnnxExporter.Export(network, Path.Combine(folder, $"model-{precision.ToString().ToLowerInvariant()}.onnx"),
                new OnnxExportOptions { ImageSize = 32, Precision = precision, IncludeLogits = true });
        }
        SyntheticShapes.Write(new SyntheticShapesOptions { Count = 3, ImageSize = 32, ClassCount = 6, Seed = 1 }, Path.Combine(folder, "images"));
    }

    private static (int Code, string Output) Run(params string[] args)
    {
        using Process app = DotNet.Start([ExampleApp.Dll("GpuCheck", "build/gpu-check"), .. args], out StringBuilder output);
        Assert.IsTrue(app.WaitForExit(ChildDotNet.HangLimit), output.ToString());
        app.WaitForExit();
        return (app.ExitCode, output.ToString());
    }

    [TestMethod]
    public void TheCpuHalfRunsAndPrintsOneRowPerBatchAndBinding()
    {
        using var scratch = new ScratchDirectory();
        WriteModels(scratch.Path, seed16: 3);
        (int code, string output) = Run("--models", scratch.Path, "--batches", "1,3", "--seconds", "0.05", "--random", "2");
        Assert.AreEqual(0, code, output);
        StringAssert.Contains(output, "parity batch: 3 built-in images + 2 random inputs");
        StringAssert.Contains(output, "pass  CPU float16, scores: ");
        foreach (string row in new[] { "| CPU | float32 | 1 | no |", "| CPU | float32 | 1 | yes |", "| CPU | float32 | 3 | no |", "| CPU | float32 | 3 | yes |" })
        {
            StringAssert.Contains(output, row);
        }
        if (!File.Exists("/proc/driver/nvidia/version"))
        {
            StringAssert.Contains(output, "CUDA: ABSENT");
            StringAssert.Contains(output, "Scoring on GPU: no");
        }
        StringAssert.Contains(output, "Parity: passed");
    }

    [TestMethod]
    public void AFloat16ModelOfAnotherNetworkFailsParity()
    {
        using var scratch = new ScratchDirectory();
        WriteModels(scratch.Path, seed16: 4);
        (int code, string output) = Run("--models", scratch.Path, "--batches", "1", "--seconds", "0.01");
        Assert.AreEqual(1, code, output);
        StringAssert.Contains(output, "FAIL  CPU float16, scores: ");
        StringAssert.Contains(output, "Parity: FAILED");
    }

    [TestMethod]
    public void MissingModelsAndBadOptionsAreNamed()
    {
        using var scratch = new ScratchDirectory();
        (int code, string output) = Run("--models", scratch.Path);
        Assert.AreEqual(2, code, output);
        StringAssert.Contains(output, Path.Combine(scratch.Path, "model-float32.onnx"));
        (code, output) = Run("--batches", "1,0");
        Assert.AreEqual(2, code, output);
        StringAssert.Contains(output, "'0'");
    }

    [TestMethod]
    public void ThePackScriptIsExecutableBash()
    {
        string script = Path.Combine(Testing.Repository.Root, "build", "gpu-check", "run.sh");
        Assert.IsTrue(File.Exists(script), script);
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        Assert.IsTrue(File.GetUnixFileMode(script).HasFlag(UnixFileMode.UserExecute), $"{script} is not executable");
        using Process bash = Process.Start(new ProcessStartInfo("bash", ["-n", script]) { RedirectStandardError = true })!;
        string errors = bash.StandardError.ReadToEnd();
        bash.WaitForExit();
        Assert.AreEqual(0, bash.ExitCode, errors);
    }
}
