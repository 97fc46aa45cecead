using System.CommandLine;
using Miil.ML.TorchSharp.Hub;

namespace Miil.ML.Cli.Commands;

/// <summary>The options of the weights cache (the Hugging Face cache layout; HF_HOME, HF_HUB_OFFLINE and HF_TOKEN are honoured as the hub's own tools do).</summary>
internal static class HubSettings
{
    public static readonly Option<string?> CacheDirectory = new("--cache-dir") { Description = "The weights cache (default: the Hugging Face cache, $HF_HOME/hub)" };

    public static readonly Option<bool> Offline = new("--offline") { Description = "Use only what is in the cache (also $HF_HUB_OFFLINE=1)" };

    public static HubOptions Options(ParseResult parsed)
    {
        var options = new HubOptions();
        if (parsed.GetValue(CacheDirectory) is string cache)
        {
            options.CacheDirectory = Path.GetFullPath(cache);
        }
        if (parsed.GetResult(Offline) is not null && parsed.GetValue(Offline))
        {
            options.Offline = true;
        }
        return options;
    }
}
