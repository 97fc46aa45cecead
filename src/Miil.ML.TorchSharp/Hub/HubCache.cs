using System.Text.RegularExpressions;

namespace Miil.ML.TorchSharp.Hub;

/// <summary>
/// The Hugging Face hub's cache layout, read and written as <c>huggingface_hub</c> does:
/// <c>models--org--name/{blobs/&lt;etag&gt;, refs/&lt;revision&gt;, snapshots/&lt;commit&gt;/&lt;file&gt;}</c>
/// (snapshot entries are relative symbolic links to the blobs, or the files themselves where links are
/// not possible), locks under <c>.locks/models--org--name/&lt;etag&gt;.lock</c>. Other hosts' files live
/// beside, under <c>miil-ml--downloads/&lt;host&gt;/&lt;path&gt;</c>.
/// </summary>
internal sealed partial class HubCache(string root)
{
    public string Root { get; } = root;

    /// <summary>A repository's folder: <c>models--org--name</c>.</summary>
    public string Storage(string repoId) => Path.Combine(Root, "models--" + repoId.Replace("/", "--", StringComparison.Ordinal));

    public string Blob(string repoId, string etag) => Path.Combine(Storage(repoId), "blobs", etag);

    public string Snapshot(string repoId, string commit, string file) => Path.Combine([Storage(repoId), "snapshots", commit, .. file.Split('/')]);

    public string Lock(string repoId, string etag) => Path.Combine(Root, ".locks", Path.GetFileName(Storage(repoId)), etag + ".lock");

    private string Ref(string repoId, string revision) => Path.Combine([Storage(repoId), "refs", .. revision.Split('/')]);

    /// <summary>The commit a revision points to: the revision itself when it is a full hash, else its ref file (null when absent).</summary>
    public string? CommitOf(string repoId, string revision)
    {
        if (CommitHash().IsMatch(revision))
        {
            return revision;
        }
        string path = Ref(repoId, revision);
        return File.Exists(path) ? File.ReadAllText(path) : null;
    }

    /// <summary>Records which commit a revision points to (the hub writes the 40 hex digits without a newline).</summary>
    public void WriteRef(string repoId, string revision, string commit)
    {
        if (revision == commit)
        {
            return;
        }
        string path = Ref(repoId, revision);
        if (File.Exists(path) && File.ReadAllText(path) == commit)
        {
            return;
        }
        IO.AtomicFile.Write(path, stream => stream.Write(System.Text.Encoding.ASCII.GetBytes(commit)));
    }

    /// <summary>The cached file for a revision, when the cache has it (a dangling link counts as absent).</summary>
    public string? Cached(string repoId, string revision, string file)
    {
        string? commit = CommitOf(repoId, revision);
        if (commit is null)
        {
            return null;
        }
        string pointer = Snapshot(repoId, commit, file);
        return File.Exists(pointer) ? pointer : null;
    }

    /// <summary>Makes the snapshot entry for a blob: a relative symbolic link, or a copy where links cannot be made.</summary>
    public void Link(string blob, string pointer)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        if (File.Exists(pointer))
        {
            return;
        }
        string target = Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob);
        try
        {
            File.CreateSymbolicLink(pointer, target);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            if (File.Exists(pointer))
            {
                return;  // another process linked it first
            }
            // No symbolic links here (some Windows setups): the hub's own fallback copies the blob.
            string temp = pointer + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.Copy(blob, temp);
            File.Move(temp, pointer, overwrite: true);
        }
    }

    /// <summary>Where a file from another host is kept: <c>miil-ml--downloads/&lt;host&gt;/&lt;path&gt;</c>.</summary>
    public string Download(Uri address)
    {
        string[] segments = address.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).ToArray();
        if (segments.Length == 0 || segments.Any(s => s is "." or ".." || s.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0))
        {
            throw new ArgumentException($"'{address}' does not name a file that can be cached.", nameof(address));
        }
        return Path.Combine([Root, "miil-ml--downloads", address.Host + (address.IsDefaultPort ? "" : "_" + address.Port), .. segments]);
    }

    [GeneratedRegex("^[0-9a-f]{40}$")]
    public static partial Regex CommitHash();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    public static partial Regex Sha256Hex();

    /// <summary>The hub's repository names: an optional namespace, a name of letters, digits, '-', '_', '.'; no '--' or '..'.</summary>
    [GeneratedRegex(@"^([\w\-.]+/)?[\w\-.]{1,96}$")]
    public static partial Regex RepoId();
}
