using Miil.ML.TorchSharp.Hub;

namespace Miil.ML.TorchSharp.Pretrained;

/// <summary>
/// Resolves what a user names as pretrained weights to a local file: a path as it is; a catalogue name
/// (<see cref="PretrainedModels"/>); <c>hf-hub:org/name[@revision]</c> (timm's form: the repository's
/// <c>model.safetensors</c>, else <c>pytorch_model.bin</c>); or an http(s) address. Downloads go
/// through <see cref="HubClient"/> and its cache.
/// </summary>
internal static class PretrainedWeightsSource
{
    /// <summary>The prefix of a hub repository reference.</summary>
    public const string HubPrefix = "hf-hub:";

    /// <summary>The prefix of a catalogue source that NuGet delivers (a package in the global packages folder).</summary>
    public const string NuGetPrefix = "nuget:";

    private static readonly string[] HubFiles = ["model.safetensors", "pytorch_model.bin"];

    /// <summary>The local file for <paramref name="reference"/>, downloading it into the cache when needed; and the catalogue entry when it is one.</summary>
    /// <param name="reference">A path, a catalogue name, <c>hf-hub:org/name[@revision]</c> or an address.</param>
    /// <param name="hub">The client downloads go through.</param>
    /// <param name="progress">Receives download progress.</param>
    /// <param name="cancellationToken">Stops a download.</param>
    /// <exception cref="FileNotFoundException">A path that does not exist.</exception>
    /// <exception cref="ArgumentException">An unknown name, or weights this library cannot build.</exception>
    /// <exception cref="HubDownloadException">The download failed.</exception>
    public static async Task<(string Path, PretrainedModel? Model)> ResolveAsync(string reference, HubClient hub, IProgress<HubDownloadProgress>? progress = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(reference);
        ArgumentNullException.ThrowIfNull(hub);
        if (File.Exists(reference))
        {
            return (reference, null);
        }
        if (PretrainedModels.Find(reference) is PretrainedModel model)
        {
            if (model.Unsupported is string why)
            {
                throw new ArgumentException($"Pretrained weights '{model.Name}' cannot be loaded: {why}", nameof(reference));
            }
            string path = model.Source.StartsWith(HubPrefix, StringComparison.Ordinal)
                ? await FromHubAsync(model.Source[HubPrefix.Length..], model.Files, model.Sha256, hub, progress, cancellationToken).ConfigureAwait(false)
                : model.Source.StartsWith(NuGetPrefix, StringComparison.Ordinal)
                    ? Models.ResNet.MLNetResNet18.Find()  // the one package source: where NuGet restored it
                    : (await hub.DownloadAsync(new Uri(model.Source), model.Sha256, progress, cancellationToken).ConfigureAwait(false)).Path;
            return (path, model);
        }
        if (reference.StartsWith(HubPrefix, StringComparison.OrdinalIgnoreCase))
        {
            return (await FromHubAsync(reference[HubPrefix.Length..], HubFiles, null, hub, progress, cancellationToken).ConfigureAwait(false), null);
        }
        if (Uri.TryCreate(reference, UriKind.Absolute, out Uri? address) && address.Scheme is "http" or "https")
        {
            return ((await hub.DownloadAsync(address, null, progress, cancellationToken).ConfigureAwait(false)).Path, null);
        }
        if (reference.IndexOfAny(['/', '\\']) >= 0 || reference.EndsWith(".pth", StringComparison.OrdinalIgnoreCase) || reference.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            throw new FileNotFoundException($"Pretrained weights '{reference}' do not exist (a path; for the catalogue give a name, for the hub '{HubPrefix}org/name').", reference);
        }
        throw new ArgumentException($"'{reference}' is neither a file nor a known pretrained model. Known names: {string.Join(", ", PretrainedModels.All.Where(m => m.Unsupported is null).Select(m => m.Name))}; "
            + $"or '{HubPrefix}org/name[@revision]' for a hub repository, or an http(s) address.", nameof(reference));
    }

    /// <summary>Synchronous <see cref="ResolveAsync"/>.</summary>
    public static (string Path, PretrainedModel? Model) Resolve(string reference, HubClient hub, IProgress<HubDownloadProgress>? progress = null)
        => ResolveAsync(reference, hub, progress).GetAwaiter().GetResult();

    private static async Task<string> FromHubAsync(string repository, IReadOnlyList<string> files, string? sha256, HubClient hub, IProgress<HubDownloadProgress>? progress,
        CancellationToken cancellationToken)
    {
        string repoId = repository, revision = "main";
        if (repository.IndexOf('@') is int at and > 0)
        {
            (repoId, revision) = (repository[..at], repository[(at + 1)..]);
        }
        HubDownloadException? missing = null;
        foreach (string file in files)
        {
            try
            {
                return (await hub.DownloadAsync(repoId, file, revision, sha256, progress, cancellationToken).ConfigureAwait(false)).Path;
            }
            catch (HubDownloadException e) when (e.Kind is HubErrorKind.FileNotFound or HubErrorKind.NotCached)
            {
                missing ??= e;  // the other format may be there (or in the cache)
            }
        }
        throw missing!;
    }
}
