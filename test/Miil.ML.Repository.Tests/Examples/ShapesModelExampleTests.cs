using Miil.ML.Testing;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Miil.ML.Datasets;
using Miil.ML.Repository.Tests.Infrastructure;

namespace Miil.ML.Repository.Tests.Examples;

/// <summary>The Model Builder-style example trains from its config on a CSV manifest, saves, reloads and predicts.</summary>
[TestClass]
public sealed class ShapesModelExampleTests
{
    [TestMethod]
    public void TrainsFromAManifestConfigAndPredictsWithTheSavedModel()
    {
        using var scratch = new ScratchDirectory();
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 120, ClassCount = 5, ImageSize = 48, Seed = 4 }, scratch.File("data"));
        var config = new JsonObject
        {
            ["Scenario"] = "MultiLabelImageClassification",
            ["DataSource"] = new JsonObject { ["Type"] = "Manifest", ["Path"] = Path.GetRelativePath(scratch.Path, manifest) },
            ["ValidationFraction"] = 0.25,
            ["TrainingOption"] = new JsonObject
            {
                ["Layers"] = new JsonArray(1, 1, 1, 1), ["WidthFactor"] = 0.25, ["ImageSize"] = 32, ["Epochs"] = 2, ["BatchSize"] = 16,
                ["LearningRate"] = 0.003, ["EmaDecay"] = null, ["CutoutFactor"] = 0, ["RandAugmentOperations"] = 0, ["ThresholdSelection"] = "TunedGlobal",
            },
            ["ModelPath"] = "model.zip",
        };
        File.WriteAllText(scratch.File("test.mbconfig"), config.ToJsonString());

        using Process app = DotNet.Start([ExampleApp.Dll("ShapesModel"), "--config", scratch.File("test.mbconfig")], out StringBuilder output);
        Assert.IsTrue(app.WaitForExit(ChildDotNet.HangLimit), output.ToString());
        app.WaitForExit();
        Assert.AreEqual(0, app.ExitCode, output.ToString());
        StringAssert.Contains(output.ToString(), "(Manifest data)");
        Assert.IsTrue(File.Exists(scratch.File("model.zip")));
        string[] predictions = output.ToString().Split('\n').Where(l => l.Contains(": predicted [", StringComparison.Ordinal)).ToArray();
        Assert.HasCount(3, predictions, output.ToString());
        Assert.IsTrue(predictions.All(p => p.Contains("top 3: ", StringComparison.Ordinal)));
    }
}
