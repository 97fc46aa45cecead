using System.CommandLine;
using Miil.ML.Cli.Output;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.Cli.Commands;

/// <summary><c>miil download</c>: pretrained weights into the cache ahead of training (checksums verified; a cached file is not fetched again).</summary>
internal static class DownloadCommand
{
    private static readonly Argument<string[]> Names = new("names")
    {
        Description = "Catalogue names ('miil models'), hf-hub:org/name[@revision] or http(s) addresses",
        Arity = ArgumentArity.OneOrMore,
    };

    public static Command Create()
    {
        var command = new Command("download", "Download pretrained weights into the cache (verified against their checksums), so that training later runs offline.\n\n"
            + "Examples:\n  miil download tresnet-m-mldecoder-coco\n  miil download hf-hub:timm/tresnet_m.miil_in21k --cache-dir /data/hf");
        command.Add(Names);
        command.Add(HubSettings.CacheDirectory);
        command.Add(HubSettings.Offline);
        command.SetAction(MiilCommand.Action(async (parsed, terminal, cancel) =>
        {
            HubOptions options = HubSettings.Options(parsed);
            using var hub = new HubClient(options);
            var view = new TrainingView(terminal);
            var done = new List<object>();
            foreach (string name in parsed.GetValue(Names)!)
            {
                (string path, PretrainedModel? entry) = await PretrainedWeightsSource.ResolveAsync(name, hub, view, cancel).ConfigureAwait(false);
                terminal.Result($"{name}: {path}" + (entry is null ? "" : $" ({entry.TrainedOn}; {entry.License})"));
                done.Add(new { name, path, license = entry?.License });
            }
            terminal.WriteJson(done);
            return ExitCodes.Success;
        }));
        return command;
    }
}
