using System.Text.RegularExpressions;
using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx.Serving;
using Miil.ML.Testing;

namespace Miil.ML.Onnx.Tests.Serving;

/// <summary>The Triton repository written from a model: its configuration read back against the model it describes (no Triton server ran).</summary>
[TestClass]
public sealed partial class TritonRepositoryTests
{
    [TestMethod]
    public void TheConfigurationDescribesTheModelsInputsOutputsAndLabels()
    {
        using var scratch = new ScratchDirectory();
        string[] names = ["cat", "dog", "traffic light"];
        byte[] onnx = ContractModels.Tiny(3, 48, names, [0.25f, 0.5f, 0.75f]);
        string folder = TritonRepository.Save(onnx, scratch.Path, "shapes", new TritonOptions { MaxBatchSize = 32, PreferredBatchSizes = [4, 16, 64], InstanceKind = "KIND_GPU" });

        Assert.AreEqual(Path.Combine(scratch.Path, "shapes"), folder);
        CollectionAssert.AreEqual(onnx, File.ReadAllBytes(Path.Combine(folder, "1", "model.onnx")));
        CollectionAssert.AreEqual(names, File.ReadAllLines(Path.Combine(folder, TritonRepository.LabelsFile)), "line i is class i");
        string config = File.ReadAllText(Path.Combine(folder, "config.pbtxt"));
        Assert.AreEqual("shapes", Field(config, "name"), "the name is the folder's");
        Assert.AreEqual("onnxruntime", Field(config, "backend"));
        Assert.AreEqual("32", Field(config, "max_batch_size"));
        StringAssert.Contains(config, "preferred_batch_size: [ 4, 16 ]", "sizes above max_batch_size are left out");
        StringAssert.Contains(config, "max_queue_delay_microseconds: 100");
        StringAssert.Contains(config, "kind: KIND_GPU");

        // Every tensor of the model, with Triton's type and the dims after the (dynamic) batch dimension.
        using var session = new InferenceSession(onnx);
        var tensors = Tensors().Matches(config).ToDictionary(m => m.Groups["name"].Value, m => (Type: m.Groups["type"].Value, Dims: m.Groups["dims"].Value));
        foreach ((string name, NodeMetadata meta) in session.InputMetadata.Concat(session.OutputMetadata))
        {
            Assert.IsTrue(tensors.TryGetValue(name, out var t), $"{name} is in the configuration");
            Assert.AreEqual(meta.ElementType == typeof(bool) ? "TYPE_BOOL" : "TYPE_FP32", t.Type, name);
            Assert.AreEqual(-1, meta.Dimensions[0], $"{name}: the model's batch is dynamic");
            Assert.AreEqual(string.Join(", ", meta.Dimensions.Skip(1)), t.Dims, name);
        }
        Assert.HasCount(session.InputMetadata.Count + session.OutputMetadata.Count, tensors);
        StringAssert.Contains(config, "label_filename: \"labels.txt\"");
        StringAssert.Contains(config, "miil.preprocessing");
        StringAssert.Contains(config, "0.25,0.5,0.75");
        Assert.AreEqual(config.Count(c => c == '{'), config.Count(c => c == '}'), "braces balance");
        Assert.AreEqual(config.Count(c => c == '['), config.Count(c => c == ']'));

        var e = Assert.ThrowsExactly<IOException>(() => TritonRepository.Save(onnx, scratch.Path, "shapes"));
        StringAssert.Contains(e.Message, folder);
        TritonRepository.Save(onnx, scratch.Path, "shapes", new TritonOptions { Overwrite = true });
        Assert.ThrowsExactly<ArgumentException>(() => TritonRepository.Save(onnx, scratch.Path, "../escape"));
    }

    private static string Field(string config, string key) => Regex.Match(config, $@"^{key}: ""?([^""\n]+)""?$", RegexOptions.Multiline).Groups[1].Value;

    [GeneratedRegex(@"name: ""(?<name>[^""]+)""\s+data_type: (?<type>\w+)\s+(?:format: \w+\s+)?(?:label_filename: ""[^""]+""\s+)?dims: \[ (?<dims>[^\]]*) \]")]
    private static partial Regex Tensors();
}
