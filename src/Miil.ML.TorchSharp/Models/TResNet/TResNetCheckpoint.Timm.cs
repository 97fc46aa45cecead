using System.Text.RegularExpressions;
using Miil.ML.TorchSharp.Checkpoints;

namespace Miil.ML.TorchSharp.Models.TResNet;

internal static partial class TResNetCheckpoint
{
    /// <summary>
    /// Saves <paramref name="model"/> in timm's layout, as timm publishes TResNet weights on the Hugging
    /// Face hub (<c>model.safetensors</c>: <c>conv</c>/<c>bn</c> keys, plain batch norm,
    /// <c>num_batches_tracked</c> kept, <c>{"format": "pt"}</c> metadata): loadable by timm's
    /// <c>tresnet_*</c> models with the same head, and by this library.
    /// </summary>
    /// <param name="model">The network.</param>
    /// <param name="path">The .safetensors file (written through a temporary file and a rename).</param>
    public static void SaveTimm(TResNet model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        SafetensorsFile.Write(path, model.StateDictInReferenceOrder().Select(kv => (ToTimmKey(kv.Key), kv.Value)),
            new Dictionary<string, string> { ["format"] = "pt" });
    }

    /// <summary>
    /// A MIIL-layout key in timm's layout: the renames of timm's <c>checkpoint_filter_fn</c>, in its order
    /// (<c>convN.0.0</c> and <c>convN.0.1</c> of an anti-aliased unit first, then <c>convN.0</c>/<c>.1</c>,
    /// then the shortcut's <c>downsample.K.0</c>/<c>.1</c>).
    /// </summary>
    internal static string ToTimmKey(string key)
    {
        key = AntiAliasedConv().Replace(key, m => $"conv{m.Groups[1].Value}.conv");
        key = AntiAliasedNorm().Replace(key, m => $"conv{m.Groups[1].Value}.bn");
        key = PlainConv().Replace(key, m => $"conv{m.Groups[1].Value}.conv");
        key = PlainNorm().Replace(key, m => $"conv{m.Groups[1].Value}.bn");
        key = ShortcutConv().Replace(key, m => $"downsample.{m.Groups[1].Value}.conv");
        return ShortcutNorm().Replace(key, m => $"downsample.{m.Groups[1].Value}.bn");
    }

    [GeneratedRegex(@"conv(\d+)\.0\.0")]
    private static partial Regex AntiAliasedConv();

    [GeneratedRegex(@"conv(\d+)\.0\.1")]
    private static partial Regex AntiAliasedNorm();

    [GeneratedRegex(@"conv(\d+)\.0")]
    private static partial Regex PlainConv();

    [GeneratedRegex(@"conv(\d+)\.1")]
    private static partial Regex PlainNorm();

    [GeneratedRegex(@"downsample\.(\d+)\.0")]
    private static partial Regex ShortcutConv();

    [GeneratedRegex(@"downsample\.(\d+)\.1")]
    private static partial Regex ShortcutNorm();
}
