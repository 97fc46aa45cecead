using System.CommandLine;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil models</c>: the catalogue of pretrained weights, and which of them this machine already holds.</summary>
internal static class ModelsCommand
{
    public static Command Create()
    {
        var command = new Command("models", "List the pretrained weights 'miil train --model' and 'miil download' know, with their licence and whether they are in the cache (nothing is downloaded).\n\n"
            + "Examples:\n  miil models\n  miil models --cache-dir /data/hf --json");
        command.Add(HubSettings.CacheDirectory);
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            var offline = HubSettings.Options(parsed) with { Offline = true };
            using var hub = new HubClient(offline);
            var rows = new List<Entry>();
            foreach (PretrainedModel m in PretrainedModels.All)
            {
                rows.Add(new Entry(m.Name, m.Architecture?.ToString() ?? m.Variant, m.ImageSize, m.ClassCount, m.TrainedOn, m.License,
                    m.Unsupported is null ? await Where(m, hub, cancel).ConfigureAwait(false) : "unsupported: " + m.Unsupported));
            }
            static string Short(string text) => text.Split(" (")[0];
            bool all = terminal.Verbosity >= Output.Verbosity.Detailed;
            terminal.Table($"Pretrained weights (cache: {offline.CacheDirectory})",
                all ? ["Name", "Network", "Size", "Classes", "Trained on", "Licence", "Here"] : ["Name", "Network", "Size", "Classes", "Licence", "Here"],
                rows.Select(r => all
                    ? (IReadOnlyList<string>)[r.Name, r.Network, $"{r.ImageSize}", $"{r.Classes}", r.TrainedOn, r.License, r.Status]
                    : [r.Name, Short(r.Network), $"{r.ImageSize}", $"{r.Classes}", Short(r.License), r.Status]));
            terminal.Info("--verbosity detailed adds what each was trained on; 'miil download NAME' fetches one.");
            terminal.WriteJson(rows);
            return ExitCodes.Success;
        }));
        return command;
    }

    internal sealed record Entry(string Name, string Network, int ImageSize, int Classes, string TrainedOn, string License, string Status);

    /// <summary>Where the weights are on this machine, without downloading: the cache's file, the NuGet package's, or "not cached".</summary>
    private static async Task<string> Where(PretrainedModel model, HubClient offline, CancellationToken cancel)
    {
        try
        {
            (string path, _) = await PretrainedWeightsSource.ResolveAsync(model.Name, offline, null, cancel).ConfigureAwait(false);
            return path;
        }
        catch (HubDownloadException)
        {
            return "not cached";
        }
        catch (FileNotFoundException)
        {
            return "package not restored";
        }
    }
}
