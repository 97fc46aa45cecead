using System.Text.Json;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Tests.Models;

/// <summary>
/// The tiny reference checkpoint as tresnet_tiny.json describes it: its configuration, files, state
/// dict and input cases. Every test that uses the tiny model takes counts, sizes and names from here,
/// so that golden data regenerated with another tiny configuration is tested unchanged.
/// </summary>
internal static class TinyGolden
{
    /// <summary>The reference TResNet's bottleneck width where a configuration does not name one (<c>bottleneck_features=512</c>).</summary>
    public const int ReferenceBottleneckFeatures = 512;

    private static readonly Lazy<JsonDocument> Document = new(() => Golden.Json("tresnet_tiny.json"));

    public static JsonElement Meta => Document.Value.RootElement.GetProperty("meta");

    public static JsonElement Config => Meta.GetProperty("config");

    public static IEnumerable<JsonElement> Cases => Document.Value.RootElement.GetProperty("cases").EnumerateArray();

    public static int[] Layers => Config.GetProperty("layers").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    public static double WidthFactor => Config.GetProperty("width_factor").GetDouble();

    public static int ClassCount => Config.GetProperty("num_classes").GetInt32();

    public static int InChannels => Config.GetProperty("in_chans").GetInt32();

    public static int? BottleneckFeatures => Config.GetProperty("do_bottleneck_head").GetBoolean()
        ? Config.TryGetProperty("bottleneck_features", out JsonElement width) ? width.GetInt32() : ReferenceBottleneckFeatures
        : null;

    public static TResNetArchitecture Architecture => TResNetArchitecture.Custom(Layers, WidthFactor);

    /// <summary>The checkpoint files of the MIIL layout (meta.files), of one format.</summary>
    public static string File(string extension)
        => Golden.PathOf(Meta.GetProperty("files").EnumerateObject().Select(p => p.Name).First(n => n.EndsWith(extension, StringComparison.Ordinal)));

    public static string Pth => File(".pth");

    public static string Safetensors => File(".safetensors");

    /// <summary>meta.state_dict_keys: each entry's key and shape, in file order.</summary>
    public static IReadOnlyList<(string Key, long[] Shape)> StateDict => Meta.GetProperty("state_dict_keys").EnumerateArray()
        .Select(e => e.GetString()!.Split('\t'))
        .Select(p => (p[0], p[1].Length == 0 ? Array.Empty<long>() : p[1].Split(',').Select(long.Parse).ToArray()))
        .ToList();

    /// <summary>The case inputs' (height, width).</summary>
    public static IEnumerable<(int Height, int Width)> InputSizes
        => Cases.Select(c => c.GetProperty("input_shape").EnumerateArray().Select(e => e.GetInt32()).ToArray()).Select(s => (s[2], s[3]));

    public static TResNet NewModel(int? classCount = null)
        => new(Architecture, classCount ?? ClassCount, BottleneckFeatures, InChannels);

    public static Tensor Input(JsonElement c)
    {
        (double[] values, long[] shape) = Golden.Array(c.GetProperty("input"));
        return tensor(values, shape).to(ScalarType.Float32);
    }
}
