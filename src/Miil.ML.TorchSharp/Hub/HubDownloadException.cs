namespace Miil.ML.TorchSharp.Hub;

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
