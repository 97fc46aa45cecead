namespace Miil.ML.Hub;

/// <summary>A file resolved through the cache.</summary>
/// <param name="Path">The local file (a snapshot entry of the cache, or the folder of other hosts' downloads).</param>
/// <param name="Source">Where it came from: <c>org/name@revision/file</c> on the hub, or the address.</param>
/// <param name="Commit">The hub commit it belongs to; null for other hosts.</param>
/// <param name="Sha256">Its verified SHA-256, lowercase hex; null where nothing declared one (a small git file on the hub, an unpinned address).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Downloaded">Whether this call downloaded it (false: the cache had it).</param>
public sealed record HubFile(string Path, string Source, string? Commit, string? Sha256, long Size, bool Downloaded);

/// <summary>Progress of a download: bytes so far (a resumed transfer counts what was already there), the total, and the rate of this transfer.</summary>
/// <param name="Source">What is downloading.</param>
/// <param name="BytesReceived">Bytes on disk so far.</param>
/// <param name="TotalBytes">The file's size, when the server said.</param>
/// <param name="BytesPerSecond">The rate since this transfer started.</param>
public readonly record struct HubDownloadProgress(string Source, long BytesReceived, long? TotalBytes, double BytesPerSecond);

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

/// <summary>A download that could not complete; the message says what, where, and what to do.</summary>
public sealed class HubDownloadException : IOException
{
    /// <summary>Creates the exception.</summary>
    public HubDownloadException(HubErrorKind kind, string message, Exception? inner = null)
        : base(message, inner)
    {
        Kind = kind;
    }

    /// <summary>What went wrong.</summary>
    public HubErrorKind Kind { get; }
}
