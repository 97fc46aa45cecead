using System.CommandLine;
using Miil.ML.Cli.Commands;
using Miil.ML.Cli.Output;

namespace Miil.ML.Cli.Tests.Commands;

/// <summary>The train command's options read into settings, a settings file replayed under the options given, and refusals.</summary>
[TestClass]
public sealed class TrainCommandTests
{
    private static ParseResult Parse(params string[] args)
    {
        ParseResult parsed = MiilCommand.Create().Parse(["train", .. args]);
        Assert.IsEmpty(parsed.Errors, string.Join("; ", parsed.Errors.Select(e => e.Message)));
        return parsed;
    }

    [TestMethod]
    public void OptionsBecomeTheSettingsWithDocumentedDefaults()
    {
        (TrainSettings s, string? folder) = TrainCommand.Read(Parse("-d", "labels.csv", "-m", "resnet18", "--epochs", "3", "--head", "ml-decoder", "--lr", "0.001"));
        Assert.IsNull(folder);
        Assert.AreEqual("labels.csv", s.Dataset);
        Assert.AreEqual("resnet18", s.Model);
        Assert.AreEqual(3, s.Epochs);
        Assert.AreEqual("ml-decoder", s.Head);
        Assert.AreEqual(0.001f, s.LearningRate);
        Assert.AreEqual("auto", s.Precision);
        Assert.AreEqual("tuned", s.Thresholds);
        Assert.AreEqual(0.2, s.ValidationFraction);
        Assert.AreEqual("MultiLabelModel", s.Name);
    }

    [TestMethod]
    public void AReplayedSettingsFileKeepsItsValuesUnderTheOptionsGiven()
    {
        using var scratch = new ScratchDirectory();
        string config = scratch.File("Photos.mbconfig");
        var saved = new TrainSettings { Name = "Photos", Dataset = "/data/labels.csv", Model = "tresnet-l", Epochs = 7, BatchSize = 12, Head = "ml-decoder",
            Result = new TrainResult(7, 5, "Ema", 0.5, 10, "Float32", 224, 3) };
        File.WriteAllText(config, Terminal.ToJson(saved));
        (TrainSettings s, string? folder) = TrainCommand.Read(Parse("--config", config, "--epochs", "9"));
        Assert.AreEqual(scratch.Path, folder);
        Assert.AreEqual(9, s.Epochs, "given on the command line");
        Assert.AreEqual(12, s.BatchSize, "from the file");
        Assert.AreEqual("tresnet-l", s.Model);
        Assert.AreEqual("ml-decoder", s.Head);
        Assert.AreEqual("Photos", s.Name);
        Assert.IsNull(s.Result, "a replay starts without the previous result");
    }

    [TestMethod]
    [DataRow(new[] { "--epochs", "3" }, "--dataset is required")]
    [DataRow(new[] { "-d", "x.csv", "--name", "9lives" }, "must be a C# identifier")]
    [DataRow(new[] { "-d", "x.csv", "--head", "attention" }, "--head takes auto, pooling or ml-decoder")]
    [DataRow(new[] { "-d", "x.csv", "--precision", "fp8" }, "--precision takes auto, float32 or bfloat16")]
    [DataRow(new[] { "-d", "x.csv", "--validation-fraction", "1.5" }, "--validation-fraction 1.5")]
    [DataRow(new[] { "-d", "x.csv", "--augment", "heavy" }, "--augment takes standard, flip or none")]
    public void BadSettingsAreUsageErrors(string[] args, string expected)
    {
        var e = Assert.ThrowsExactly<CliException>(() => TrainCommand.Read(Parse(args)));
        StringAssert.Contains(e.Message, expected);
        Assert.AreEqual(ExitCodes.Usage, e.ExitCode);
    }

    [TestMethod]
    public void AConfigOfANewerToolIsRefused()
    {
        using var scratch = new ScratchDirectory();
        string config = scratch.File("New.mbconfig");
        File.WriteAllText(config, Terminal.ToJson(new TrainSettings { Version = 99, Dataset = "x.csv" }));
        var e = Assert.ThrowsExactly<CliException>(() => TrainCommand.Read(Parse("--config", config)));
        StringAssert.Contains(e.Message, "version 99");
    }
}
