using System.Security.Cryptography;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.Testing;

namespace Miil.ML.TorchSharp.Tests.Hub;

/// <summary>
/// <see cref="HubClient"/> against a hub on 127.0.0.1 (<see cref="LoopbackHub"/>): the hub's cache layout,
/// resume after a cut, verification, errors, offline mode, concurrent downloads, tokens.
/// </summary>
[TestClass]
public sealed class HubClientTests
{
    private const string Repo = "test-org/tiny-model";

    private static byte[] Content(int length, int seed)
    {
        byte[] bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static HubOptions Options(LoopbackHub hub, ScratchDirectory cache, bool offline = false, string? token = null)
        => new() { Endpoint = hub.Endpoint, CacheDirectory = cache.Path, Offline = offline, Token = token, Timeout = TimeSpan.FromSeconds(10) };

    [TestMethod]
    public void DownloadsIntoTheHubsCacheLayoutAndAnswersFromItAfterwards()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(300_000, 1);
        string commit = hub.Publish(Repo, "main", ("model.safetensors", content));
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        var progress = new List<HubDownloadProgress>();
        using var client = new HubClient(Options(hub, cache));

        HubFile file = client.Download(Repo, "model.safetensors", progress: new SyncProgress(progress.Add));
        string storage = Path.Combine(cache.Path, "models--test-org--tiny-model");
        Assert.AreEqual(Path.Combine(storage, "snapshots", commit, "model.safetensors"), file.Path);
        CollectionAssert.AreEqual(content, File.ReadAllBytes(file.Path));
        Assert.AreEqual(sha, file.Sha256);
        Assert.AreEqual(commit, file.Commit);
        Assert.IsTrue(file.Downloaded);
        Assert.AreEqual(commit, File.ReadAllText(Path.Combine(storage, "refs", "main")), "refs/main holds the commit, no newline");
        Assert.IsTrue(File.Exists(Path.Combine(storage, "blobs", sha)), "the blob is named by its SHA-256");
        FileInfo pointer = new(file.Path);
        Assert.AreEqual(Path.Combine("..", "..", "blobs", sha), pointer.LinkTarget, "a relative link, as huggingface_hub makes");
        Assert.IsFalse(Directory.EnumerateFiles(storage, "*.incomplete", SearchOption.AllDirectories).Any());
        Assert.AreEqual(content.Length, progress[^1].BytesReceived);
        Assert.AreEqual(content.Length, progress[^1].TotalBytes);
        Assert.IsFalse(hub.CdnSawAuthorization);

        int gets = hub.Ranges.Count;
        HubFile again = client.Download(Repo, "model.safetensors");
        Assert.IsFalse(again.Downloaded);
        Assert.AreEqual(file.Path, again.Path);
        Assert.AreEqual(gets, hub.Ranges.Count, "the second call downloads nothing");
    }

    [TestMethod]
    public void ATransferCutMidBodyResumesWithARangeRequest()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(400_000, 2);
        hub.Publish(Repo, "main", ("model.safetensors", content));
        hub.CutNext(150_000, count: 2);
        using var client = new HubClient(Options(hub, cache));

        HubFile file = client.Download(Repo, "model.safetensors");
        CollectionAssert.AreEqual(content, File.ReadAllBytes(file.Path));
        string[] ranges = hub.Ranges.ToArray();
        Assert.HasCount(3, ranges, string.Join(" | ", ranges));
        Assert.AreEqual("", ranges[0]);
        Assert.IsTrue(ranges[1].StartsWith("bytes=", StringComparison.Ordinal) && ranges[2].StartsWith("bytes=", StringComparison.Ordinal), string.Join(" | ", ranges));
        Assert.IsGreaterThan(0L, long.Parse(ranges[2]["bytes=".Length..].TrimEnd('-')), "resumed where the bytes on disk end");
    }

    [TestMethod]
    public void ACorruptedBodyIsRefusedAndNothingStaysInTheCache()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(100_000, 3);
        hub.Publish(Repo, "main", ("model.safetensors", content));
        hub.Corrupt = true;
        using var client = new HubClient(Options(hub, cache));

        var e = Assert.ThrowsExactly<HubDownloadException>(() => client.Download(Repo, "model.safetensors"));
        Assert.AreEqual(HubErrorKind.Integrity, e.Kind);
        StringAssert.Contains(e.Message, Repo);
        StringAssert.Contains(e.Message, Convert.ToHexStringLower(SHA256.HashData(content)), "the declared digest");
        StringAssert.Contains(e.Message, hub.CdnEndpoint, "the address the bytes came from");
        string storage = Path.Combine(cache.Path, "models--test-org--tiny-model");
        Assert.IsFalse(Directory.EnumerateFiles(Path.Combine(storage, "blobs")).Any(), "no blob, complete or not");
        Assert.IsFalse(Directory.Exists(Path.Combine(storage, "snapshots")) && Directory.EnumerateFileSystemEntries(Path.Combine(storage, "snapshots"), "*", SearchOption.AllDirectories).Any(f => File.Exists(f)));

        hub.Corrupt = false;
        CollectionAssert.AreEqual(content, File.ReadAllBytes(client.Download(Repo, "model.safetensors").Path), "a later attempt succeeds");
    }

    [TestMethod]
    public void APinnedDigestThatDoesNotMatchIsRefused()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        hub.Publish(Repo, "main", ("model.safetensors", Content(5000, 4)));
        using var client = new HubClient(Options(hub, cache));
        string wrong = new('0', 64);
        var e = Assert.ThrowsExactly<HubDownloadException>(() => client.Download(Repo, "model.safetensors", sha256: wrong));
        Assert.AreEqual(HubErrorKind.Integrity, e.Kind);
        StringAssert.Contains(e.Message, wrong);
    }

    [TestMethod]
    public void MissingRepositoriesRevisionsAndFilesAreNamed()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        hub.Publish(Repo, "main", ("model.safetensors", Content(100, 5)));
        using var client = new HubClient(Options(hub, cache));

        var repo = Assert.ThrowsExactly<HubDownloadException>(() => client.Download("test-org/absent", "model.safetensors"));
        Assert.AreEqual(HubErrorKind.NotFound, repo.Kind);
        StringAssert.Contains(repo.Message, "test-org/absent");
        var revision = Assert.ThrowsExactly<HubDownloadException>(() => client.Download(Repo, "model.safetensors", revision: "v9"));
        Assert.AreEqual(HubErrorKind.NotFound, revision.Kind);
        StringAssert.Contains(revision.Message, "revision");
        var entry = Assert.ThrowsExactly<HubDownloadException>(() => client.Download(Repo, "pytorch_model.bin"));
        Assert.AreEqual(HubErrorKind.FileNotFound, entry.Kind);
        StringAssert.Contains(entry.Message, "pytorch_model.bin");
        Assert.ThrowsExactly<ArgumentException>(() => client.Download("../etc", "passwd"));
        Assert.ThrowsExactly<ArgumentException>(() => client.Download(Repo, "../../escape.bin"));
    }

    [TestMethod]
    public void OfflineTheCacheAnswersWithoutAnyRequestAndAnEmptyCacheSaysWhereToPutTheFile()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(2000, 6);
        hub.Publish(Repo, "main", ("model.safetensors", content));

        using (var offline = new HubClient(Options(hub, cache, offline: true)))
        {
            var e = Assert.ThrowsExactly<HubDownloadException>(() => offline.Download(Repo, "model.safetensors"));
            Assert.AreEqual(HubErrorKind.NotCached, e.Kind);
            StringAssert.Contains(e.Message, "HF_HUB_OFFLINE");
            StringAssert.Contains(e.Message, Path.Combine(cache.Path, "models--test-org--tiny-model", "snapshots"));
            StringAssert.Contains(e.Message, Path.Combine(cache.Path, "models--test-org--tiny-model", "refs", "main"));
        }
        Assert.IsEmpty(hub.Requests, "offline sends nothing");

        using (var online = new HubClient(Options(hub, cache)))
        {
            online.Download(Repo, "model.safetensors");
        }
        int seen = hub.Requests.Count;
        using (var offline = new HubClient(Options(hub, cache, offline: true)))
        {
            CollectionAssert.AreEqual(content, File.ReadAllBytes(offline.Download(Repo, "model.safetensors").Path));
        }
        Assert.AreEqual(seen, hub.Requests.Count, "offline with a cache: still nothing sent");
    }

    [TestMethod]
    public void WithoutNetworkTheCacheAnswersAndAnEmptyCacheIsNamed()
    {
        using var cache = new ScratchDirectory();
        byte[] content = Content(2000, 7);
        string endpoint;
        using (var hub = new LoopbackHub())
        {
            hub.Publish(Repo, "main", ("model.safetensors", content));
            endpoint = hub.Endpoint;
            using var client = new HubClient(Options(hub, cache));
            client.Download(Repo, "model.safetensors");
        }
        // The server is gone: nothing listens on its port any more.
        var down = new HubOptions { Endpoint = endpoint, CacheDirectory = cache.Path, Timeout = TimeSpan.FromSeconds(5) };
        using (var client = new HubClient(down))
        {
            CollectionAssert.AreEqual(content, File.ReadAllBytes(client.Download(Repo, "model.safetensors").Path));
            var e = Assert.ThrowsExactly<HubDownloadException>(() => client.Download("test-org/other", "model.safetensors"));
            Assert.AreEqual(HubErrorKind.NotCached, e.Kind);
            StringAssert.Contains(e.Message, "cannot be reached");
        }
    }

    [TestMethod]
    public void ACacheThatPythonsHuggingFaceHubFilledIsReused()
    {
        // The layout huggingface_hub writes: blobs/<sha>, a relative link in snapshots/<commit>/, refs/main without a newline.
        using var cache = new ScratchDirectory();
        byte[] content = Content(1234, 8);
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        string commit = new('a', 40);
        string storage = Path.Combine(cache.Path, "models--timm--tresnet_m.miil_in1k");
        Directory.CreateDirectory(Path.Combine(storage, "blobs"));
        File.WriteAllBytes(Path.Combine(storage, "blobs", sha), content);
        Directory.CreateDirectory(Path.Combine(storage, "snapshots", commit));
        File.CreateSymbolicLink(Path.Combine(storage, "snapshots", commit, "model.safetensors"), Path.Combine("..", "..", "blobs", sha));
        Directory.CreateDirectory(Path.Combine(storage, "refs"));
        File.WriteAllText(Path.Combine(storage, "refs", "main"), commit);

        using var client = new HubClient(new HubOptions { CacheDirectory = cache.Path, Offline = true });
        HubFile file = client.Download("timm/tresnet_m.miil_in1k", "model.safetensors");
        CollectionAssert.AreEqual(content, File.ReadAllBytes(file.Path));
        Assert.AreEqual(commit, file.Commit);
        Assert.AreEqual(sha, client.Download("timm/tresnet_m.miil_in1k", "model.safetensors", revision: commit, sha256: sha).Sha256, "a pinned digest is checked on the cached file");
    }

    [TestMethod]
    public void TwoConcurrentDownloadsOfOneFileShareOneTransfer()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(600_000, 9);
        hub.Publish(Repo, "main", ("model.safetensors", content));
        hub.BytesPerSecond = 2_000_000;  // about 0.3 s per transfer: the two overlap
        using var first = new HubClient(Options(hub, cache));
        using var second = new HubClient(Options(hub, cache));

        Task<HubFile> a = first.DownloadAsync(Repo, "model.safetensors");
        Task<HubFile> b = second.DownloadAsync(Repo, "model.safetensors");
        Task.WaitAll(a, b);
        CollectionAssert.AreEqual(content, File.ReadAllBytes(a.Result.Path));
        CollectionAssert.AreEqual(content, File.ReadAllBytes(b.Result.Path));
        Assert.AreEqual(1, new[] { a.Result.Downloaded, b.Result.Downloaded }.Count(d => d), "the second waited for the first, then found the blob");
        Assert.HasCount(1, hub.Ranges.ToArray(), "one body transfer");
    }

    [TestMethod]
    public void AGatedModelNeedsTheTokenAndTheCdnNeverSeesIt()
    {
        using var hub = new LoopbackHub { RequiredToken = "hf_secret" };
        using var cache = new ScratchDirectory();
        hub.Publish(Repo, "main", ("model.safetensors", Content(1000, 10)));
        using (var anonymous = new HubClient(Options(hub, cache)))
        {
            var e = Assert.ThrowsExactly<HubDownloadException>(() => anonymous.Download(Repo, "model.safetensors"));
            Assert.AreEqual(HubErrorKind.Unauthorized, e.Kind);
            StringAssert.Contains(e.Message, "HF_TOKEN");
        }
        using var authorised = new HubClient(Options(hub, cache, token: "hf_secret"));
        Assert.IsTrue(authorised.Download(Repo, "model.safetensors").Downloaded);
        Assert.IsFalse(hub.CdnSawAuthorization, "the signed CDN address gets no token");
    }

    [TestMethod]
    public void FilesFromOtherHostsAreCachedUnderTheirAddress()
    {
        using var hub = new LoopbackHub();
        using var cache = new ScratchDirectory();
        byte[] content = Content(50_000, 11);
        hub.Publish(Repo, "main", ("model.safetensors", content));
        string sha = Convert.ToHexStringLower(SHA256.HashData(content));
        using var client = new HubClient(Options(hub, cache));
        var address = new Uri($"{hub.Endpoint}/cdn/{sha}");

        HubFile file = client.DownloadAsync(address, sha).GetAwaiter().GetResult();
        CollectionAssert.AreEqual(content, File.ReadAllBytes(file.Path));
        StringAssert.StartsWith(file.Path, Path.Combine(cache.Path, "miil-ml--downloads", $"127.0.0.1_{hub.Port}"));
        Assert.IsFalse(client.DownloadAsync(address, sha).GetAwaiter().GetResult().Downloaded);
        Assert.AreEqual(HubErrorKind.Integrity, Assert.ThrowsExactly<HubDownloadException>(
            () => client.DownloadAsync(address, new string('1', 64)).GetAwaiter().GetResult()).Kind, "a cached file is checked against a pin");
    }

    [TestMethod]
    public void OptionsFollowTheHubsEnvironmentVariables()
    {
        Assert.IsTrue(new[] { "1", "ON", "yes", "True" }.All(HubOptions.IsTrue));
        Assert.IsFalse(new[] { "0", "off", "", null }.Any(HubOptions.IsTrue));
        string? saved = Environment.GetEnvironmentVariable("HF_HUB_CACHE");
        try
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", "/tmp/some-hub-cache");
            Assert.AreEqual("/tmp/some-hub-cache", new HubOptions().CacheDirectory);
        }
        finally
        {
            Environment.SetEnvironmentVariable("HF_HUB_CACHE", saved);
        }
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class SyncProgress(Action<HubDownloadProgress> report) : IProgress<HubDownloadProgress>
    {
        public void Report(HubDownloadProgress value) => report(value);
    }
}
