using System.Text;
using Miil.ML.Onnx.Diagnostics;

namespace Miil.ML.Onnx.Tests.Diagnostics;

/// <summary>Reading native library files: DT_NEEDED of ELF objects and libstdc++'s versions.</summary>
[TestClass]
public sealed class NativeLibraryFilesTests
{
    public TestContext TestContext { get; set; } = null!;

    private static string OnnxRuntimeLibrary()
    {
        _ = Microsoft.ML.OnnxRuntime.OrtEnv.Instance();
        return NativeLibraries.MappedPath("libonnxruntime.so") ?? throw new AssertFailedException("libonnxruntime.so is not mapped after OrtEnv started");
    }

    [TestMethod]
    public void NeededListsWhatTheLoaderLoadsWithTheLibrary()
    {
        if (!OperatingSystem.IsLinux())
        {
            Assert.Inconclusive("ELF files: Linux only.");
        }
        IReadOnlyList<string> needed = Miil.Build.ElfFile.Needed(OnnxRuntimeLibrary());
        CollectionAssert.Contains(needed.ToList(), "libc.so.6");
        // Every library it needs is mapped into this process now that it has loaded.
        foreach (string library in needed.Where(n => !n.StartsWith("ld-linux", StringComparison.Ordinal)))
        {
            Assert.IsNotNull(NativeLibraries.MappedPath(library.Split(".so")[0] + ".so"), library);
        }
    }

    [TestMethod]
    public void NeededRefusesFilesThatAreNotElfNamingThem()
    {
        string dir = Path.Combine(Path.GetTempPath(), "miil-elf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string text = Path.Combine(dir, "notes.so");
            File.WriteAllText(text, "not a library");
            var e = Assert.ThrowsExactly<Miil.Build.ElfFormatException>(() => Miil.Build.ElfFile.Needed(text));
            StringAssert.Contains(e.Message, text);

            if (OperatingSystem.IsLinux())
            {
                string cut = Path.Combine(dir, "cut.so");
                byte[] real = File.ReadAllBytes(OnnxRuntimeLibrary());
                File.WriteAllBytes(cut, real[..4096]);
                e = Assert.ThrowsExactly<Miil.Build.ElfFormatException>(() => Miil.Build.ElfFile.Needed(cut));
                StringAssert.Contains(e.Message, cut);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestMethod]
    public void HighestGlibCxxVersionIsTheLargestWholeVersionString()
    {
        string file = Path.Combine(Path.GetTempPath(), "miil-libstdcxx-" + Guid.NewGuid().ToString("N"));
        try
        {
            File.WriteAllBytes(file, Encoding.ASCII.GetBytes("xGLIBCXX_3.4.9\0GLIBCXX_3.4.30\0GLIBCXX_3.4.31x\0GLIBCXX_3.4.21\0GLIBCXX_3.4."));
            Assert.AreEqual(30, NativeLibraries.HighestGlibCxxMinor(file));
            File.WriteAllBytes(file, Encoding.ASCII.GetBytes("nothing here"));
            Assert.IsNull(NativeLibraries.HighestGlibCxxMinor(file));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
