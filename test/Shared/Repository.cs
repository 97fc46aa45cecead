using System.Reflection;

namespace Miil.ML.Testing;

/// <summary>The checkout the tests were built from (recorded at build time), for tests that read its docs or run its examples.</summary>
internal static class Repository
{
    public static string Root => typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == "MiilRepositoryRoot")?.Value
        ?? throw new InvalidOperationException("The test assembly does not record the repository root (MiilRepositoryRoot).");
}
