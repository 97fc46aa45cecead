namespace Miil.ML.TorchSharp.Hub;

/// <summary>What went wrong with a download, for a caller that reacts to the kind.</summary>
public enum HubErrorKind
{
    /// <summary>Offline mode, or no network, and the cache does not have the file.</summary>
    NotCached,

    /// <summary>The server refused the credentials (401/403): a token is missing, wrong, or lacks access (gated model).</summary>
    Unauthorized,

    /// <summary>The repository or revision does not exist (404).</summary>
    NotFound,

    /// <summary>The repository exists but has no such file (404, <c>EntryNotFound</c>).</summary>
    FileNotFound,

    /// <summary>The bytes do not match the declared size or SHA-256.</summary>
    Integrity,

    /// <summary>The disk is full.</summary>
    DiskFull,

    /// <summary>Another HTTP or network failure.</summary>
    Transfer,
}
