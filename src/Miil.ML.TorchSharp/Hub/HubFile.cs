namespace Miil.ML.TorchSharp.Hub;

/// <summary>A file resolved through the cache.</summary>
/// <param name="Path">The local file (a snapshot entry of the cache, or the folder of other hosts' downloads).</param>
/// <param name="Source">Where it came from: <c>org/name@revision/file</c> on the hub, or the address.</param>
/// <param name="Commit">The hub commit it belongs to; null for other hosts.</param>
/// <param name="Sha256">Its verified SHA-256, lowercase hex; null where nothing declared one (a small git file on the hub, an unpinned address).</param>
/// <param name="Size">Its size in bytes.</param>
/// <param name="Downloaded">Whether this call downloaded it (false: the cache had it).</param>
internal sealed record HubFile(string Path, string Source, string? Commit, string? Sha256, long Size, bool Downloaded);
