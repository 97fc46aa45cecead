using Miil.ML.Repository.Tests.Infrastructure;

namespace Miil.ML.Repository.Tests.Examples;

/// <summary><c>--doctor</c> in the QuickStart (training and scoring) and the scoring service (scoring only).</summary>
[TestClass]
public sealed class DoctorFlagTests
{
    private static string Run(string app) => DotNet.Run(Environment.CurrentDirectory, ExampleApp.Dll(app), "--doctor");

    [TestMethod]
    public void TheQuickStartExaminesLibtorchAndOnnxRuntimeAndTrainsNothing()
    {
        string output = Run("QuickStart");
        foreach (string area in new[] { "System\n", "ONNX Runtime\n", "CUDA\n", "TorchSharp\n", "Parity\n" })
        {
            StringAssert.Contains(output, area);
        }
        StringAssert.Contains(output, "parity: passed");
        Assert.IsFalse(output.Contains("Held-out mAP", StringComparison.Ordinal), output);
    }

    [TestMethod]
    public void TheScoringServiceExaminesOnnxRuntimeOnlyAndDoesNotStart()
    {
        Assert.IsFalse(File.Exists(Path.Combine(Path.GetDirectoryName(ExampleApp.Dll("ScoringService"))!, "Miil.ML.TorchSharp.dll")),
            "the service is built without Miil.ML.TorchSharp, so this run shows the doctor without it");
        string output = Run("ScoringService");
        StringAssert.Contains(output, "ONNX Runtime\n");
        StringAssert.Contains(output, "[ok]   CPU");
        Assert.IsFalse(output.Contains("TorchSharp\n", StringComparison.Ordinal), "the service carries no libtorch: " + output);
        Assert.IsFalse(output.Contains("Now listening", StringComparison.Ordinal), output);
    }
}
