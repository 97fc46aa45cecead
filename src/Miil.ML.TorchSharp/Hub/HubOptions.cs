namespace Miil.ML.TorchSharp.Hub;

/// <summary>
/// Where and how <see cref="HubClient"/> downloads: the Hugging Face hub's own environment variables
/// and cache layout, so that a cache filled by Python's <c>huggingface_hub</c> is reused and the other
/// way round.
/// </summary>
public sealed record HubOptions
{
    /// <summary>The public hub.</summary>
    public const string PublicEndpoint = "https://huggingface.co";

    /// <summary>The hub's address. Default: <c>HF_ENDPOINT</c>, else <see cref="PublicEndpoint"/>.</summary>
    public string Endpoint { get; set; } = (Environment.GetEnvironmentVariable("HF_ENDPOINT") is { Length: > 0 } e ? e : PublicEndpoint).TrimEnd('/');

    /// <summary>
    /// The cache folder (the hub's <c>models--org--name</c> folders live here). Default:
    /// <c>HF_HUB_CACHE</c>, else <c>HUGGINGFACE_HUB_CACHE</c>, else <c>HF_HOME/hub</c>, else
    /// <c>XDG_CACHE_HOME/huggingface/hub</c>, else <c>~/.cache/huggingface/hub</c>.
    /// </summary>
    public string CacheDirectory { get; set; } = DefaultCacheDirectory();

    /// <summary>Bearer token for gated or private models. Default: <c>HF_TOKEN</c>, else <c>HUGGING_FACE_HUB_TOKEN</c>, else the token file (<c>HF_TOKEN_PATH</c> or <c>HF_HOME/token</c>).</summary>
    public string? Token { get; set; } = DefaultToken();

    /// <summary>Never touch the network: only the cache answers. Default: <c>HF_HUB_OFFLINE</c> is 1, ON, YES or TRUE.</summary>
    public bool Offline { get; set; } = IsTrue(Environment.GetEnvironmentVariable("HF_HUB_OFFLINE"));

    /// <summary>How long a request may wait for the server between bytes. Default 30 s.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts to resume a transfer cut mid-body before giving up. Default 5.</summary>
    public int ResumeAttempts { get; set; } = 5;

    /// <summary>The hub's reading of a boolean variable.</summary>
    internal static bool IsTrue(string? value) => value?.Trim().ToUpperInvariant() is "1" or "ON" or "YES" or "TRUE";

    private static string HfHome()
        => Environment.GetEnvironmentVariable("HF_HOME") is { Length: > 0 } home
            ? Expand(home)
            : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? Expand(xdg) : Path.Combine(Home(), ".cache"), "huggingface");

    private static string DefaultCacheDirectory()
        => Environment.GetEnvironmentVariable("HF_HUB_CACHE") is { Length: > 0 } cache ? Expand(cache)
            : Environment.GetEnvironmentVariable("HUGGINGFACE_HUB_CACHE") is { Length: > 0 } legacy ? Expand(legacy)
            : Path.Combine(HfHome(), "hub");

    private static string? DefaultToken()
    {
        foreach (string name in new[] { "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN" })
        {
            if (Clean(Environment.GetEnvironmentVariable(name)) is string token)
            {
                return token;
            }
        }
        string file = Environment.GetEnvironmentVariable("HF_TOKEN_PATH") is { Length: > 0 } path ? Expand(path) : Path.Combine(HfHome(), "token");
        try
        {
            return File.Exists(file) ? Clean(File.ReadAllText(file)) : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string? Clean(string? token) => token?.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Trim() is { Length: > 0 } t ? t : null;

    private static string Home() => Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);

    private static string Expand(string path)
        => Environment.ExpandEnvironmentVariables(path.StartsWith('~') ? Home() + path[1..] : path);
}
