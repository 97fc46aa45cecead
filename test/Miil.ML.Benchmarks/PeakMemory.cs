using System.Globalization;

namespace Miil.ML.Benchmarks;

/// <summary>The process's peak resident set (Linux), resettable between measured sections.</summary>
internal static class PeakMemory
{
    /// <summary>Resets the peak to the current resident set (writing 5 to /proc/self/clear_refs).</summary>
    public static void Reset()
    {
        GC.Collect();
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>Peak resident set since the last reset, in MiB (NaN where /proc is absent).</summary>
    public static double MiB() => Status("VmHWM:");

    /// <summary>The resident set now, in MiB (NaN where /proc is absent).</summary>
    public static double CurrentMiB() => Status("VmRSS:");

    private static double Status(string field)
    {
        string? line = File.Exists("/proc/self/status") ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith(field, StringComparison.Ordinal)) : null;
        return line is null ? double.NaN : long.Parse(line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }
}
