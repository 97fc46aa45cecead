using System.Text.Json;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models;

/// <summary>
/// The state dict layout and the sizes of M, L and XL against the reference model's
/// (tresnet_{m,l,xl}_keys.txt, tresnet_summary.json).
/// </summary>
[TestClass]
public sealed class TResNetStructureTests
{
    /// <summary>Every tresnet_{variant}_keys.txt of the MIIL layout (timm's key list is another layout).</summary>
    public static IEnumerable<object[]> KeyFiles() => Directory.GetFiles(Golden.Directory, "tresnet_*_keys.txt")
        .Select(Path.GetFileName)
        .Where(f => !f!.Contains("_timm_", StringComparison.Ordinal))
        .Order(StringComparer.Ordinal)
        .Select(f => new object[] { f!, f!["tresnet_".Length..^"_keys.txt".Length].ToUpperInvariant() });

    public static IEnumerable<object[]> SummaryModels()
    {
        using JsonDocument summary = Golden.Json("tresnet_summary.json");
        foreach (JsonProperty model in summary.RootElement.GetProperty("models").EnumerateObject())
        {
            yield return [model.Name];
        }
    }

    [TestMethod]
    [DynamicData(nameof(KeyFiles))]
    public void StateDictKeysAndShapesAreTheReferences(string file, string variant)
    {
        string[] expected = File.ReadAllLines(Golden.PathOf(file)).Where(l => l.Length > 0).ToArray();
        // The class count is the head's output size: the file's last weight of the head.
        int classes = int.Parse(expected.Last(l => l.StartsWith("head.", StringComparison.Ordinal) && l.Split('\t')[0].EndsWith(".weight", StringComparison.Ordinal)).Split('\t')[1].Split(',')[0]);
        using var model = new TResNet(TResNetArchitecture.FromName(variant), classCount: classes);
        string[] actual = model.StateDictInReferenceOrder().Select(kv => $"{kv.Key}\t{string.Join(",", kv.Value.shape)}\t{DtypeName(kv.Value.dtype)}").ToArray();
        CollectionAssert.AreEquivalent(model.state_dict().Keys.ToArray(), actual.Select(a => a.Split('\t')[0]).ToArray(), "the ordering holds every state-dict entry");
        int first = FirstDifference(expected, actual);
        Assert.AreEqual(expected.Length, actual.Length, $"{variant}: entries");
        Assert.AreEqual(expected.Length, first, $"{variant}: line {first + 1} differs: expected \"{(first < expected.Length ? expected[first] : "")}\", got \"{(first < actual.Length ? actual[first] : "")}\"");
    }

    [TestMethod]
    [DynamicData(nameof(SummaryModels))]
    public void ParameterAndBufferCountsAreTheReferences(string name)
    {
        using JsonDocument summary = Golden.Json("tresnet_summary.json");
        JsonElement m = summary.RootElement.GetProperty("models").GetProperty(name);
        int[] layers = m.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        double width = m.GetProperty("width_factor").GetDouble();
        int classes = m.GetProperty("num_classes").GetInt32();
        int? bottleneck = m.GetProperty("do_bottleneck_head").GetBoolean()
            ? m.TryGetProperty("bottleneck_features", out JsonElement bottleneckWidth) ? bottleneckWidth.GetInt32() : TinyGolden.ReferenceBottleneckFeatures
            : null;

        using var model = new TResNet(TResNetArchitecture.Custom(layers, width), classes, bottleneck);
        long trainable = model.parameters().Sum(p => p.numel());
        long buffers = model.buffers().Sum(b => b.numel());
        Assert.AreEqual(m.GetProperty("trainable_parameters").GetInt64(), trainable, $"{name} parameters");
        Assert.AreEqual(m.GetProperty("buffer_elements").GetInt64(), buffers, $"{name} buffer elements (with num_batches_tracked)");
        if (m.TryGetProperty("num_features", out JsonElement features))
        {
            Assert.AreEqual(features.GetInt32(), model.FeatureCount);
        }
        if (m.TryGetProperty("head_keys", out JsonElement headKeys))
        {
            string[] expected = headKeys.EnumerateArray().Select(e => e.GetString()!).ToArray();
            string[] actual = model.state_dict().Where(kv => kv.Key.StartsWith("head.")).Select(kv => $"{kv.Key}\t{string.Join(",", kv.Value.shape)}").ToArray();
            CollectionAssert.AreEqual(expected, actual);
        }
    }

    [TestMethod]
    public void ReferenceInitialisation()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 2, 1], 0.5), classCount: 10);
        Dictionary<string, Tensor> state = model.state_dict();
        foreach ((string key, Tensor value) in state.Where(kv => kv.Key.EndsWith(".weight") && kv.Value.dim() == 1))
        {
            bool endsResidualBranch = key.Contains("layer1.") || key.Contains("layer2.")
                ? key.Contains(".conv2.1.")
                : key.Contains(".conv3.1.");
            double expected = endsResidualBranch ? 0 : 1;
            Assert.IsTrue(value.eq(expected).all().item<bool>(), $"{key} should be {expected}");
        }
        double std = state["head.fc.weight"].std().item<float>();
        Assert.AreEqual(0.01, std, 0.002, "head weight ~ N(0, 0.01)");
        // kaiming normal, fan_out, leaky_relu (a = 0): std = sqrt(2 / fan_out)
        Tensor stem = state["body.conv1.0.weight"];
        double fanOut = stem.shape[0] * stem.shape[2] * stem.shape[3];
        Assert.AreEqual(Math.Sqrt(2 / fanOut), stem.std().item<float>(), 0.15 * Math.Sqrt(2 / fanOut));
    }

    [TestMethod]
    public void InputsThatSpaceToDepthCannotTakeAreRejected()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), classCount: 3);
        model.eval();
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.forward(zeros(1, 1, 32, 32))).Message, "N x 3 x H x W");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.forward(zeros(1, 3, 30, 32))).Message, "multiples of 4");
        StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => model.forward(zeros(3, 32, 32))).Message, "N x 3 x H x W");
        using Tensor logits = model.forward(zeros(2, 3, 36, 44));  // not multiples of 32: ceil arithmetic
        CollectionAssert.AreEqual(new long[] { 2, 3 }, logits.shape);
    }

    [TestMethod]
    public void BlocksRunTheirChildrenThroughCallSoForwardHooksFire()
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 2, 1, 1], 0.25), classCount: 3, bottleneckFeatures: 16);
        model.eval();
        var fired = new HashSet<string>();
        var removers = model.named_modules().Where(m => m.name.Length > 0)
            .Select(m => m.module is nn.Module<Tensor, Tensor> hooked ? hooked.register_forward_hook(_ => fired.Add(m.name)) : null).ToList();
        using (no_grad())
        {
            using Tensor logits = model.forward(zeros(1, 3, 32, 32));
        }
        string[] silent = model.named_modules().Select(m => m.name).Where(n => n.Length > 0 && !fired.Contains(n)).ToArray();
        CollectionAssert.AreEqual(Array.Empty<string>(), silent, "every module ran through call()");
        Assert.Contains("body.layer2.1.se.fc1", fired);
    }

    [TestMethod]
    public void ArchitecturesAreData()
    {
        // Each summary model named tresnet_{variant}_... is that named variant: its layers, width and feature count.
        using JsonDocument summary = Golden.Json("tresnet_summary.json");
        int named = 0;
        foreach (JsonProperty m in summary.RootElement.GetProperty("models").EnumerateObject())
        {
            string variant = m.Name.Split('_')[1].ToUpperInvariant();
            if (variant is not ("M" or "L" or "XL"))
            {
                continue;
            }
            named++;
            int[] layers = m.Value.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            TResNetArchitecture architecture = TResNetArchitecture.FromName(variant);
            Assert.AreSame(architecture, TResNetArchitecture.Custom(layers, m.Value.GetProperty("width_factor").GetDouble()), m.Name);
            if (m.Value.TryGetProperty("num_features", out JsonElement features))
            {
                Assert.AreEqual(features.GetInt32(), architecture.FeatureCount, m.Name);
            }
        }
        Assert.IsGreaterThan(0, named, "the summary names M, L or XL models");
        Assert.ThrowsExactly<ArgumentException>(() => TResNetArchitecture.Custom([1, 1, 1], 1.0));
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => TResNetArchitecture.Custom([1, 1, 1, 1], 0.001));
        Assert.ThrowsExactly<ArgumentException>(() => TResNetArchitecture.FromName("S"));
    }

    private static string DtypeName(ScalarType t) => t switch
    {
        ScalarType.Float32 => "float32",
        ScalarType.Int64 => "int64",
        _ => t.ToString(),
    };

    private static int FirstDifference(string[] a, string[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
            {
                return i;
            }
        }
        return n;
    }
}
