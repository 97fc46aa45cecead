using System.IO.Compression;
using System.Xml.Linq;
using Miil.ML.Repository.Tests.Infrastructure;
using Miil.ML.Testing;

namespace Miil.ML.Repository.Tests.Packaging;

/// <summary>
/// Packs the three libraries into a local folder and builds and runs an application that
/// references Miil.ML.TorchSharp from there, as a user would: the package's buildTransitive targets
/// must make TorchSharp load on this machine without anything from this repository's build.
/// </summary>
[TestClass]
[TestCategory("Packaging")]
public sealed class PackageConsumerTests
{
    private static readonly string[] Libraries = ["Miil.ML", "Miil.ML.Onnx", "Miil.ML.TorchSharp"];

    private static string? s_feed;
    private static string? s_version;

    [ClassInitialize]
    public static void PackOnce(TestContext _)
    {
        s_version = "0.0.0-consumertest." + DateTime.UtcNow.ToString("yyyyMMddHHmmss") + "." + Environment.ProcessId;
        s_feed = Directory.CreateTempSubdirectory("miil-feed-").FullName;
        foreach (string library in Libraries)
        {
            DotNet.Run(RepositoryRoot, "pack", $"src/{library}/{library}.csproj", "-c", "Release", "-o", s_feed,
                       $"-p:Version={s_version}", "-p:ContinuousIntegrationBuild=true");
        }
    }

    [ClassCleanup]
    public static void RemovePackages()
    {
        if (s_feed is not null)
        {
            Directory.Delete(s_feed, recursive: true);
        }
        // The consumer's restore copied the test packages into the global packages folder.
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string library in Libraries)
        {
            string folder = Path.Combine(cache, library.ToLowerInvariant(), s_version ?? "none");
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [TestMethod]
    public void PackagesCarryMetadataDocsReadmeAndTheRightDependencies()
    {
        foreach (string library in Libraries)
        {
            using ZipArchive package = ZipFile.OpenRead(Path.Combine(s_feed!, $"{library}.{s_version}.nupkg"));
            string[] entries = package.Entries.Select(e => e.FullName).ToArray();
            CollectionAssert.Contains(entries, $"lib/net10.0/{library}.dll");
            CollectionAssert.Contains(entries, $"lib/net10.0/{library}.xml", "XML docs");
            CollectionAssert.Contains(entries, "README.md");

            XDocument nuspec = XDocument.Load(package.GetEntry($"{library}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            XElement metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.AreEqual(library, metadata.Element(ns + "id")!.Value);
            Assert.AreEqual("MIT", metadata.Element(ns + "license")!.Value);
            Assert.AreEqual("README.md", metadata.Element(ns + "readme")!.Value);
            Assert.IsGreaterThan(40, metadata.Element(ns + "description")!.Value.Length, $"{library}: a real description");
            string[] dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToArray();
            Assert.IsFalse(dependencies.Any(d => d is "TorchSharp-cpu" or "Microsoft.ML.OnnxRuntime" or "Microsoft.ML.OnnxRuntime.Gpu"),
                $"{library} must leave the native runtime to the application: {string.Join(", ", dependencies)}");
        }

        using ZipArchive torch = ZipFile.OpenRead(Path.Combine(s_feed!, $"Miil.ML.TorchSharp.{s_version}.nupkg"));
        string[] files = torch.Entries.Select(e => e.FullName).ToArray();
        CollectionAssert.Contains(files, "buildTransitive/Miil.ML.TorchSharp.targets");
        CollectionAssert.Contains(files, "buildTransitive/LibStdCxxCompat/LibStdCxxCompat.targets");
        CollectionAssert.Contains(files, "buildTransitive/LibStdCxxCompat/RelaxLibStdCxxVersionNeeds.cs");
        XDocument spec = XDocument.Load(torch.GetEntry("Miil.ML.TorchSharp.nuspec")!.Open());
        string[] deps = spec.Descendants(spec.Root!.Name.Namespace + "dependency").Select(d => (string)d.Attribute("id")!).ToArray();
        CollectionAssert.IsSubsetOf(new[] { "Miil.ML", "Miil.ML.Onnx", "TorchSharp" }, deps);
    }

    [TestMethod]
    public void AnApplicationReferencingThePackageRunsTorchSharp()
    {
        string app = Directory.CreateTempSubdirectory("miil-consumer-").FullName;
        try
        {
            WriteConsumer(app);
            string build = DotNet.Run(app, "build", "-c", "Release");
            string run = DotNet.Run(app, "run", "-c", "Release", "--no-build");
            StringAssert.Contains(run, "ASL=", "the app computed a loss through TorchSharp");
            double value = double.Parse(run.Split("ASL=")[1].Split(Environment.NewLine)[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.IsTrue(value > 0 && double.IsFinite(value), run);
            StringAssert.Contains(run, "catalog=MultiLabelCatalog");
            if (OperatingSystem.IsLinux() && !SystemHasGlibcxx("GLIBCXX_3.4.32"))
            {
                StringAssert.Contains(build, "marked version need GLIBCXX_3.4.32", "the package's own targets did the fix");
            }
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    private static bool SystemHasGlibcxx(string version)
        => Miil.Build.ElfFile.Read(Miil.Build.LibStdCxxLocator.Find()!).VersionDefinitions().Contains(version);

    private static void WriteConsumer(string app)
    {
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="miil-local" value="{s_feed}" />
              </packageSources>
            </configuration>
            """);
        // Directory.Build.* files stop the search so nothing of this repository leaks in.
        File.WriteAllText(Path.Combine(app, "Directory.Build.props"), "<Project />");
        File.WriteAllText(Path.Combine(app, "Directory.Build.targets"), "<Project />");
        File.WriteAllText(Path.Combine(app, "Directory.Packages.props"), "<Project><PropertyGroup><ManagePackageVersionsCentrally>false</ManagePackageVersionsCentrally></PropertyGroup></Project>");
        File.WriteAllText(Path.Combine(app, "Consumer.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <Nullable>enable</Nullable>
                <ImplicitUsings>enable</ImplicitUsings>
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Miil.ML.TorchSharp" Version="{s_version}" />
                <PackageReference Include="TorchSharp-cpu" Version="{typeof(global::TorchSharp.torch).Assembly.GetName().Version!.ToString(3)}" />
                <PackageReference Include="SkiaSharp" Version="{Testing.Repository.PackageVersion("SkiaSharp")}" />
                <PackageReference Include="SkiaSharp.NativeAssets.Linux.NoDependencies" Version="{Testing.Repository.PackageVersion("SkiaSharp.NativeAssets.Linux.NoDependencies")}" />
                <PackageReference Include="Microsoft.ML.OnnxRuntime.Managed" Version="{Testing.Repository.PackageVersion("Microsoft.ML.OnnxRuntime.Managed")}" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Microsoft.ML;
            using Miil.ML;
            using Miil.ML.TorchSharp.Losses;
            using static TorchSharp.torch;

            var logits = tensor(new float[] { 2f, -1f, 0.5f, -3f }, [2, 2]);
            var targets = tensor(new float[] { 1f, 0f, 0f, 1f }, [2, 2]);
            Console.WriteLine(FormattableString.Invariant($"ASL={new AsymmetricLoss().forward(logits, targets).item<float>()}"));
            Console.WriteLine($"catalog={new MLContext(seed: 0).MultiLabel().GetType().Name}");
            """);
    }

    private static string RepositoryRoot => Testing.Repository.Root;
}
