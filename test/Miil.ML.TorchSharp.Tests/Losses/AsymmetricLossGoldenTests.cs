using System.Text.Json;
using Miil.ML.TorchSharp.Losses;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Losses;

/// <summary>
/// Value and gradient of both losses against asl_loss.json, every case, float64 and float32.
/// </summary>
[TestClass]
public sealed class AsymmetricLossGoldenTests
{
    private static readonly Lazy<JsonDocument> Data = new(() => Golden.Json("asl_loss.json"));

    public static IEnumerable<object[]> MultiLabelCases() => CaseNames(l => l is "AsymmetricLoss" or "AsymmetricLossOptimized");

    public static IEnumerable<object[]> SingleLabelCases() => CaseNames(l => l == "ASLSingleLabel");

    [TestMethod]
    public void GoldenFileHasBothKindsOfCases()
    {
        Assert.IsGreaterThan(0, MultiLabelCases().Count());
        Assert.IsGreaterThan(0, SingleLabelCases().Count());
        Assert.AreEqual(Case.All().Count(), MultiLabelCases().Count() + SingleLabelCases().Count(), "a case of an unknown loss kind");
    }

    [TestMethod]
    [DynamicData(nameof(MultiLabelCases))]
    public void MultiLabelMatchesReference(string name)
    {
        Case c = Case.Named(name);
        foreach ((ScalarType dtype, Tolerance tolerance, string suffix) in Precisions)
        {
            var loss = new AsymmetricLoss(MultiLabelOptions(c.Params));
            using var scope = NewDisposeScope();
            Tensor logits = c.Logits(dtype).requires_grad_();
            Tensor value = loss.forward(logits, c.Targets(dtype));
            value.backward();
            string what = $"{name} {dtype}";
            Assert.AreEqual(dtype, value.dtype, what);
            tolerance.AssertClose(c.Expected("value" + suffix)[0], Flat(value)[0], what + " value");
            tolerance.AssertClose(c.Expected("grad" + suffix), Flat(logits.grad!), what + " grad");
        }
    }

    [TestMethod]
    [DynamicData(nameof(SingleLabelCases))]
    public void SingleLabelMatchesReference(string name)
    {
        Case c = Case.Named(name);
        JsonElement p = c.Params;
        var options = new AsymmetricLossSingleLabelOptions
        {
            GammaPos = p.GetProperty("gamma_pos").GetDouble(),
            GammaNeg = p.GetProperty("gamma_neg").GetDouble(),
            LabelSmoothing = p.GetProperty("eps").GetDouble(),
            Reduction = p.GetProperty("reduction").GetString() switch
            {
                "mean" => LossReduction.Mean,
                "sum" => LossReduction.Sum,
                "none" => LossReduction.None,
                var r => throw new InvalidDataException($"{name}: unknown reduction '{r}'"),
            },
        };
        foreach ((ScalarType dtype, Tolerance tolerance, string suffix) in Precisions)
        {
            var loss = new AsymmetricLossSingleLabel(options);
            using var scope = NewDisposeScope();
            Tensor logits = c.Logits(dtype).requires_grad_();
            Tensor value = loss.forward(logits, c.Targets(ScalarType.Int64));
            value.sum().backward();
            tolerance.AssertClose(c.Expected("value" + suffix), Flat(value), $"{name} {dtype} value");
            tolerance.AssertClose(c.Expected("grad" + suffix), Flat(logits.grad!), $"{name} {dtype} grad");
        }
    }

    /// <summary>
    /// With gammas and clip 0, ASL is summed BCE. The reference clamps log(p) at log(1e-8), BCE does
    /// not, so the two agree only where every |logit| stays below about 18; cases beyond that are
    /// checked against the reference ASL value instead (above).
    /// </summary>
    [TestMethod]
    [DynamicData(nameof(MultiLabelCases))]
    public void BceCasesEqualBinaryCrossEntropy(string name)
    {
        Case c = Case.Named(name);
        if (!c.Json.TryGetProperty("bce_sum", out JsonElement bce))
        {
            return;
        }
        Assert.AreEqual(0, MultiLabelOptions(c.Params).GammaNeg + MultiLabelOptions(c.Params).GammaPos, "bce_sum only where gammas are 0");
        using var scope = NewDisposeScope();
        Tensor logits = c.Logits(ScalarType.Float64);
        if (logits.abs().max().item<double>() > 15)
        {
            return;
        }
        double ours = new AsymmetricLoss(AsymmetricLossOptions.BinaryCrossEntropy).forward(logits, c.Targets(ScalarType.Float64)).item<double>();
        Tolerance.Float64.AssertClose(bce.GetDouble(), ours, name + " vs bce_sum");
    }

    private static readonly (ScalarType, Tolerance, string)[] Precisions =
    [
        (ScalarType.Float64, Tolerance.Float64, ""),
        (ScalarType.Float32, Tolerance.Float32, "_float32"),
    ];

    internal static AsymmetricLossOptions MultiLabelOptions(JsonElement p) => new()
    {
        GammaNeg = p.GetProperty("gamma_neg").GetDouble(),
        GammaPos = p.GetProperty("gamma_pos").GetDouble(),
        Clip = p.GetProperty("clip").ValueKind == JsonValueKind.Null ? 0 : p.GetProperty("clip").GetDouble(),
        Eps = p.GetProperty("eps").GetDouble(),
        DetachFocalWeight = p.GetProperty("disable_torch_grad_focal_loss").GetBoolean(),
        Reduction = LossReduction.Sum,
    };

    internal static double[] Flat(Tensor t) => t.detach().to(ScalarType.Float64).cpu().flatten().data<double>().ToArray();

    private static IEnumerable<object[]> CaseNames(Func<string, bool> kind)
        => Case.All().Where(c => kind(c.GetProperty("loss").GetString()!)).Select(c => new object[] { c.GetProperty("name").GetString()! });

    /// <summary>One case of asl_loss.json.</summary>
    private sealed record Case(JsonElement Json)
    {
        public static IEnumerable<JsonElement> All() => Data.Value.RootElement.GetProperty("cases").EnumerateArray();

        public static Case Named(string name) => new(All().Single(c => c.GetProperty("name").GetString() == name));

        public JsonElement Params => Json.GetProperty("params");

        public Tensor Logits(ScalarType dtype)
        {
            (double[] values, long[] shape) = Golden.Array(Json.GetProperty("logits"));
            return tensor(values, shape).to(dtype);
        }

        public Tensor Targets(ScalarType dtype)
        {
            (double[] values, long[] shape) = Golden.Array(Json.GetProperty("targets"));
            return tensor(values, shape).to(dtype);
        }

        public double[] Expected(string field)
        {
            JsonElement e = Json.GetProperty(field);
            return e.ValueKind == JsonValueKind.Array ? Golden.Array(e).Values : [Golden.Number(e)];
        }
    }
}
