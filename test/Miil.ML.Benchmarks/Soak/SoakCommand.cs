using System.Globalization;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>
/// <c>soak</c> commands: long runs that look for what unit tests cannot see (not part of CI).
/// <c>soak kill [runs]</c>, <c>soak concurrency [threads]</c>, <c>soak memory [steps] [images]</c>,
/// <c>soak fuzz [images] [checkpoints]</c>. Each prints a table and exits non-zero when a run fails its check.
/// </summary>
internal static class SoakCommand
{
    public static int Run(string[] args)
    {
        string mode = args.Length > 0 ? args[0] : "";
        int Arg(int index, int fallback) => args.Length > index ? int.Parse(args[index], CultureInfo.InvariantCulture) : fallback;
        Console.WriteLine($"# Soak '{mode}', {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores");
        return mode switch
        {
            "kill" => KillLoopSoak.Run(Arg(1, 20)),
            "concurrency" => ConcurrencySoak.Run(Arg(1, 8), args.Length > 2 ? args[2] : "both"),
            "memory" => MemorySoak.Run(Arg(1, 2000), Arg(2, 100_000)),
            "fuzz" => FuzzSoak.Run(Arg(1, 1000), Arg(2, 200)),
            _ => Usage(mode),
        };
    }

    private static int Usage(string mode)
    {
        Console.Error.WriteLine($"Unknown soak '{mode}': kill [runs=20] | concurrency [threads=8] [both|cursors|engines] | memory [steps=2000] [images=100000] | fuzz [images=1000] [checkpoints=200]");
        return 2;
    }

    /// <summary>A fresh folder under the temporary directory, removed by the caller.</summary>
    public static string Scratch(string name) => Directory.CreateTempSubdirectory($"miil-soak-{name}-").FullName;
}
