using System.Reflection;
using Miil.Build;

namespace Miil.ML.Repository.Tests.Build;

/// <summary>
/// The build step that lets libLibTorchSharp.so load against an older libstdc++: what it did to this
/// test project's own output, and its decisions on copies of the shipped library.
/// </summary>
[TestClass]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LibStdCxxCompatTests
{
    private static string ShippedLibrary
    {
        get
        {
            string root = typeof(LibStdCxxCompatTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
                .Single(a => a.Key == "NuGetPackageRoot").Value!;
            string version = typeof(global::TorchSharp.torch).Assembly.GetName().Version!.ToString(3);
            return Path.Combine(root, "torchsharp", version, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        }
    }

    private static string OutputLibrary => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    private static HashSet<string> SystemVersions => ElfFile.Read(LibStdCxxLocator.Find()!).VersionDefinitions();

    [TestInitialize]
    public void LinuxOnly()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("The libstdc++ compatibility step acts on Linux only.");
        }
    }

    [TestMethod]
    public void SystemLibStdCxxIsTheOneThisProcessLoaded()
    {
        string? found = LibStdCxxLocator.Find();
        Assert.IsNotNull(found);
        StringAssert.Contains(File.ReadAllText("/proc/self/maps"), found);
        Assert.Contains("GLIBCXX_3.4", SystemVersions);
    }

    [TestMethod]
    public void OutputCopyNeedsNothingThisMachineLacksAndTheCacheIsUntouched()
    {
        HashSet<string> available = SystemVersions;
        List<VersionNeedAux> shipped = LibStdCxxNeeds(ShippedLibrary);
        List<VersionNeedAux> output = LibStdCxxNeeds(OutputLibrary);
        CollectionAssert.AreEqual(shipped.Select(n => n.Name).ToList(), output.Select(n => n.Name).ToList());

        var missing = shipped.Where(n => !available.Contains(n.Name)).Select(n => n.Name).ToList();
        foreach (VersionNeedAux need in output)
        {
            bool weak = (need.Flags & 0x2) != 0;
            Assert.AreEqual(missing.Contains(need.Name), weak, $"{need.Name}: weak in the output exactly when this machine lacks it");
        }
        Assert.IsTrue(shipped.All(n => (n.Flags & 0x2) == 0), "the NuGet cache copy keeps its strong needs");
        if (missing.Count == 0)
        {
            CollectionAssert.AreEqual(File.ReadAllBytes(ShippedLibrary), File.ReadAllBytes(OutputLibrary), "no-op where nothing is missing");
        }
    }

    [TestMethod]
    public void RelaxesOnlyTheUnreferencedVersionAndIsIdempotent()
    {
        using var copy = new TempCopy(ShippedLibrary);
        HashSet<string> available = SystemVersions;
        available.Remove("GLIBCXX_3.4.32");     // as on Debian 12, whatever this machine has

        VersionNeedReport first = LibStdCxxVersionNeeds.Relax(copy.Path, available);
        CollectionAssert.AreEqual(new[] { "GLIBCXX_3.4.32" }, first.Relaxed);
        Assert.IsEmpty(first.Referenced);
        Assert.IsTrue(first.Rewritten);
        Assert.AreEqual(1, DifferingBytes(ShippedLibrary, copy.Path), "one flag byte changes");

        VersionNeedReport second = LibStdCxxVersionNeeds.Relax(copy.Path, available);
        Assert.IsFalse(second.Rewritten, "already weak: nothing to write");
        Assert.AreEqual(UnixFileMode(ShippedLibrary), UnixFileMode(copy.Path), "file mode kept");
    }

    [TestMethod]
    public void NothingIsWrittenWhenEveryVersionIsAvailable()
    {
        using var copy = new TempCopy(ShippedLibrary);
        var all = LibStdCxxNeeds(copy.Path).Select(n => n.Name).ToHashSet();
        DateTime before = File.GetLastWriteTimeUtc(copy.Path);
        VersionNeedReport report = LibStdCxxVersionNeeds.Relax(copy.Path, all);
        Assert.IsFalse(report.Rewritten);
        Assert.IsEmpty(report.Relaxed);
        Assert.AreEqual(before, File.GetLastWriteTimeUtc(copy.Path));
    }

    [TestMethod]
    public void RefusesWhenARelocationUsesAMissingVersion()
    {
        using var copy = new TempCopy(ShippedLibrary);
        // An old libstdc++ with only the base GLIBCXX_3.4: std::string and friends of later
        // versions are really called through relocations.
        VersionNeedReport report = LibStdCxxVersionNeeds.Relax(copy.Path, new HashSet<string> { "GLIBCXX_3.4" });
        Assert.IsNotEmpty(report.Referenced);
        Assert.IsFalse(report.Rewritten);
        Assert.IsFalse(report.Referenced.ContainsKey("GLIBCXX_3.4.32"), "the iostream-init need is never relocated");
        Assert.AreEqual(0, DifferingBytes(ShippedLibrary, copy.Path));
    }

    [TestMethod]
    public void TheTaskFailsTheBuildWithTheLibraryAndVersionNamed()
    {
        using var copy = new TempCopy(ShippedLibrary);
        using var fakeLibStdCxx = new TempCopy(ShippedLibrary);  // an ELF that defines no GLIBCXX version
        var engine = new RecordingBuildEngine();
        var task = new RelaxLibStdCxxVersionNeeds
        {
            BuildEngine = engine,
            Libraries = [new Microsoft.Build.Utilities.TaskItem(copy.Path)],
            SystemLibStdCxx = fakeLibStdCxx.Path,
        };
        Assert.IsFalse(task.Execute());
        string error = engine.Errors.Single();
        StringAssert.Contains(error, copy.Path);
        StringAssert.Contains(error, "relocations reference symbols");
        Assert.AreEqual(0, DifferingBytes(ShippedLibrary, copy.Path));
    }

    [TestMethod]
    public void AHardLinkedCacheFileIsNotWrittenThrough()
    {
        using var cache = new TempCopy(ShippedLibrary);
        string output = cache.Path + ".output";
        try
        {
            Assert.AreEqual(0, Link(cache.Path, output), "hard link");
            HashSet<string> available = SystemVersions;
            available.Remove("GLIBCXX_3.4.32");
            Assert.IsTrue(LibStdCxxVersionNeeds.Relax(output, available).Rewritten);
            Assert.AreEqual(0, DifferingBytes(ShippedLibrary, cache.Path), "the other name keeps the original bytes");
            Assert.AreEqual(1, DifferingBytes(ShippedLibrary, output));
        }
        finally
        {
            File.Delete(output);
        }
    }

    [TestMethod]
    public void NonElfAndTruncatedFilesAreRejected()
    {
        string garbage = Path.GetTempFileName();
        try
        {
            File.WriteAllText(garbage, "not a library");
            StringAssert.Contains(Assert.ThrowsExactly<ElfFormatException>(() => ElfFile.Read(garbage)).Message, "not an ELF");
            byte[] head = File.ReadAllBytes(ShippedLibrary).Take(4096).ToArray();
            File.WriteAllBytes(garbage, head);
            StringAssert.Contains(Assert.ThrowsExactly<ElfFormatException>(() => ElfFile.Read(garbage)).Message, "outside the file");
        }
        finally
        {
            File.Delete(garbage);
        }
    }

    private static List<VersionNeedAux> LibStdCxxNeeds(string path)
        => ElfFile.Read(path).VersionNeeds().Where(n => n.File == LibStdCxxVersionNeeds.LibraryName).ToList();

    private static int DifferingBytes(string a, string b)
    {
        byte[] x = File.ReadAllBytes(a), y = File.ReadAllBytes(b);
        Assert.AreEqual(x.Length, y.Length);
        return x.Zip(y).Count(p => p.First != p.Second);
    }

    private static UnixFileMode UnixFileMode(string path) => File.GetUnixFileMode(path);

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "link", SetLastError = true)]
    private static extern int Link(string existing, string created);

    private sealed class TempCopy : IDisposable
    {
        public TempCopy(string source)
        {
            Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "miil-elf-" + Guid.NewGuid().ToString("N") + ".so");
            File.Copy(source, Path);
        }

        public string Path { get; }

        public void Dispose() => File.Delete(Path);
    }
}
