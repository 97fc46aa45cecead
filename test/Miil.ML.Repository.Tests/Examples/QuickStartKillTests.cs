using Miil.ML.Testing;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Miil.ML.Repository.Tests.Infrastructure;
using Miil.ML.TorchSharp.Training;

namespace Miil.ML.Repository.Tests.Examples;

/// <summary>
/// The QuickStart (README's main command) killed with SIGKILL mid-training resumes from its last
/// checkpoint and ends with a valid model. Runs the example the solution build produced.
/// </summary>
[TestClass]
public sealed partial class QuickStartKillTests
{
    [TestMethod]
    public void KilledRunResumesFromItsCheckpointAndEndsWithAModel()
    {
        using var scratch = new ScratchDirectory();
        string checkpoints = scratch.File("checkpoints");
        string[] arguments =
        [
            ExampleApp.Dll("QuickStart"), "--train", "192", "--validation", "48", "--test", "48", "--classes", "6", "--epochs", "4",
            "--image-size", "32", "--batch-size", "16", "--output", scratch.File("out"), "--checkpoints", checkpoints, "--plain",
        ];
        string checkpoint = Path.Combine(checkpoints, TResNetAslOptions.CheckpointFileName);

        using (Process first = DotNet.Start(arguments, out StringBuilder firstOutput))
        {
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !first.HasExited && clock.Elapsed < ChildDotNet.HangLimit)
            {
                Thread.Sleep(20);
            }
            Assert.IsFalse(first.HasExited, $"the run ended before it could be killed:\n{firstOutput}");
            Assert.IsTrue(File.Exists(checkpoint), $"no checkpoint appeared:\n{firstOutput}");
            first.Kill();  // SIGKILL on Linux: no handler runs, nothing is flushed
            first.WaitForExit();
            StringAssert.DoesNotMatch(firstOutput.ToString(), HeldOut(), "the first run was stopped before it finished");
        }

        using Process second = DotNet.Start(arguments, out StringBuilder secondOutput);
        Assert.IsTrue(second.WaitForExit(ChildDotNet.HangLimit), $"the resumed run did not finish:\n{secondOutput}");
        second.WaitForExit();
        string output = secondOutput.ToString();
        Assert.AreEqual(0, second.ExitCode, output);
        StringAssert.Contains(output, "Resuming from the checkpoint");
        Match line = HeldOut().Match(output);
        Assert.IsTrue(line.Success, output);
        Assert.IsGreaterThan(0.0, double.Parse(line.Groups[1].Value, CultureInfo.InvariantCulture));
        Assert.IsGreaterThan(1000L, new FileInfo(scratch.File("out/model.onnx")).Length);
        Assert.IsGreaterThan(1000L, new FileInfo(scratch.File("out/model.zip")).Length);
    }

    [GeneratedRegex(@"Held-out mAP: ([0-9.]+)% \(label-frequency baseline: [0-9.]+%\)")]
    private static partial Regex HeldOut();
}
