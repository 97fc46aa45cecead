using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Miil.ML.Benchmarks;

/// <summary>
/// scikit-learn's macro average precision on the same matrices, timed in the same run, when a Python
/// with scikit-learn is on this machine (optional: the figure is the yardstick of the evaluator's
/// target, not a dependency). The matrices go to Python as raw float32 / int8 files.
/// </summary>
internal static class ScikitLearnReference
{
    private const string Script = """
        import sys, time
        import numpy as np
        from sklearn.metrics import average_precision_score
        n, c, repeat = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
        s = np.fromfile(sys.argv[1], dtype=np.float32).reshape(n, c)
        y = np.fromfile(sys.argv[2], dtype=np.int8).reshape(n, c)
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            ap = average_precision_score(y, s, average="macro")
            best = min(best, time.perf_counter() - t)
        print(f"{best:.6f} {ap:.6f}")
        """;

    /// <summary>The Python to use: the first of python3 and /usr/bin/python3 that imports scikit-learn, or null.</summary>
    public static string? FindPython()
    {
        foreach (string python in new[] { "python3", "/usr/bin/python3" })
        {
            try
            {
                using Process? p = Process.Start(new ProcessStartInfo(python, ["-c", "import sklearn"]) { RedirectStandardError = true, RedirectStandardOutput = true });
                if (p is not null && p.WaitForExit(60_000) && p.ExitCode == 0)
                {
                    return python;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
                // Not installed: try the next.
            }
        }
        return null;
    }

    /// <summary>Best-of-<paramref name="repeat"/> seconds and the macro AP scikit-learn computes (binary labels; no ignored ones).</summary>
    public static (double Seconds, double MacroAp) Time(string python, float[] scores, float[] labels, int n, int c, int repeat)
    {
        string folder = Directory.CreateTempSubdirectory("miil-sklearn-").FullName;
        try
        {
            string scoreFile = Path.Combine(folder, "scores.f32"), labelFile = Path.Combine(folder, "labels.i8"), script = Path.Combine(folder, "ap.py");
            File.WriteAllBytes(scoreFile, MemoryMarshal.AsBytes(scores.AsSpan()).ToArray());
            File.WriteAllBytes(labelFile, labels.Select(v => (byte)(sbyte)v).ToArray());
            File.WriteAllText(script, Script);
            var start = new ProcessStartInfo(python, [script, scoreFile, labelFile, n.ToString(CultureInfo.InvariantCulture), c.ToString(CultureInfo.InvariantCulture), repeat.ToString(CultureInfo.InvariantCulture)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using Process p = Process.Start(start)!;
            string output = p.StandardOutput.ReadToEnd();
            string error = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"scikit-learn run failed: {error}");
            }
            string[] parts = output.Trim().Split(' ');
            return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[1], CultureInfo.InvariantCulture));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
