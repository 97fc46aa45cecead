using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.Cli.Commands;

/// <summary>What <c>--model</c> names: a checkpoint file, a catalogue name, a hub repository or an architecture trained from scratch.</summary>
internal sealed record ModelChoice(string Text, string? PretrainedWeights, NetworkArchitecture? Architecture, PretrainedModel? Entry)
{
    public static ModelChoice Resolve(string text)
    {
        if (File.Exists(text))
        {
            return new ModelChoice(text, Path.GetFullPath(text), null, null);
        }
        if (PretrainedModels.Find(text) is PretrainedModel entry)
        {
            if (entry.Unsupported is string why)
            {
                throw new CliException($"--model '{text}' cannot be trained here: {why}", ExitCodes.Input);
            }
            return new ModelChoice(text, entry.Name, null, entry);
        }
        if (text.StartsWith("hf-hub:", StringComparison.OrdinalIgnoreCase) || text.StartsWith("http://", StringComparison.OrdinalIgnoreCase)
            || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return new ModelChoice(text, text, null, null);
        }
        if (text.IndexOfAny(['/', '\\']) >= 0 || text.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) || text.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException($"--model '{text}' does not exist (a checkpoint path).", ExitCodes.Input);
        }
        if (Custom(text) is (NetworkArchitecture custom, string code))
        {
            return new ModelChoice(text, null, custom, null) { ArchitectureCode = code };
        }
        try
        {
            string name = text.StartsWith("tresnet-", StringComparison.OrdinalIgnoreCase) || text.StartsWith("tresnet_", StringComparison.OrdinalIgnoreCase) ? text["tresnet-".Length..] : text;
            return new ModelChoice(text, null, NetworkArchitecture.FromName(name), null) { ArchitectureCode = $"NetworkArchitecture.FromName(\"{name}\")" };
        }
        catch (ArgumentException)
        {
            string names = string.Join(", ", PretrainedModels.All.Where(m => m.Unsupported is null).Select(m => m.Name));
            throw new CliException($"--model '{text}' is neither a checkpoint file, a catalogue name ({names}; 'miil models' lists them), "
                + "'hf-hub:org/name', nor an architecture to train from scratch (tresnet-m, tresnet-l, tresnet-xl, tresnet-v2-l, resnet18, resnet34, resnet50, "
                + "or tresnet:1,1,1,1x0.5 and resnet:1,1,1,1x16 for blocks per stage and width factor or base width).", ExitCodes.Input);
        }
    }

    /// <summary>The C# expression of <see cref="Architecture"/> (for the generated training code); null for weights.</summary>
    public string? ArchitectureCode { get; init; }

    /// <summary>
    /// A custom network: <c>tresnet:L1,L2,L3,L4xW</c> (blocks per stage, width factor) or <c>resnet:L1,L2,L3,L4xB</c> (basic blocks
    /// per stage, base width), the small networks the built-in data and tests train in seconds.
    /// </summary>
    private static (NetworkArchitecture, string)? Custom(string text)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^(tresnet|resnet):(\d+),(\d+),(\d+),(\d+)(?:x([0-9.]+))?$", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
        if (!match.Success)
        {
            return null;
        }
        int[] layers = Enumerable.Range(2, 4).Select(g => int.Parse(match.Groups[g].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        string list = string.Join(", ", layers);
        string factor = match.Groups[6].Success ? match.Groups[6].Value : "";
        try
        {
            if (match.Groups[1].Value.Equals("tresnet", StringComparison.OrdinalIgnoreCase))
            {
                double width = factor.Length == 0 ? 1.0 : double.Parse(factor, System.Globalization.CultureInfo.InvariantCulture);
                return (Miil.ML.TorchSharp.Models.TResNet.TResNetArchitecture.Custom(layers, width),
                    $"Miil.ML.TorchSharp.Models.TResNet.TResNetArchitecture.Custom([{list}], {width.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})");
            }
            int planes = factor.Length == 0 ? 64 : int.Parse(factor, System.Globalization.CultureInfo.InvariantCulture);
            return (Miil.ML.TorchSharp.Models.ResNet.ResNetArchitecture.Custom(layers, basePlanes: planes),
                $"Miil.ML.TorchSharp.Models.ResNet.ResNetArchitecture.Custom([{list}], basePlanes: {planes})");
        }
        catch (Exception e) when (e is ArgumentException or FormatException or OverflowException)
        {
            throw new CliException($"--model '{text}': {e.Message}", ExitCodes.Usage);
        }
    }

    /// <summary>The input side the weights were trained at, when known.</summary>
    public int? ImageSize => Entry?.ImageSize;
}
