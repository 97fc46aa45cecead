using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>
/// <c>soak kill</c>: the QuickStart (a smaller run of the same trainer, checkpointing every few steps)
/// killed with SIGKILL at random moments (data generation, steps, validation, checkpoint writes,
/// export; every fourth kill aimed at the run's last fifth, where the brief export and report are) and run again with the same arguments each time. Every run must end with a valid model, the
/// same held-out mAP and the same ONNX bytes (hence weights) as an uninterrupted run, and after every
/// kill the checkpoint and the outputs on disk must be whole files (or absent).
/// </summary>
internal static partial class KillLoopSoak
{
    private static readonly string[] QuickArguments =
    [
        "--train", "192", "--validation", "48", "--test", "48", "--classes", "6", "--epochs", "4",
        "--image-size", "32", "--batch-size", "16", "--checkpoint-every", "3", "--plain",
    ];

    public static int Run(int runs)
    {
        string dll = ExampleApps.Dll("QuickStart");
        string root = SoakCommand.Scratch("kill");
        try
        {
            Console.WriteLine($"QuickStart {string.Join(' ', QuickArguments)} ({dll})");
            // Twice uninterrupted: the outputs of one configuration must be the same bytes every time for the comparison to mean anything.
            (Outcome reference, double seconds) = Uninterrupted(dll, Path.Combine(root, "reference"));
            (Outcome again, _) = Uninterrupted(dll, Path.Combine(root, "reference-again"));
            Console.WriteLine($"Uninterrupted: {seconds:F1} s, held-out mAP {reference.Map}, model.onnx {reference.OnnxSha[..12]}; a second run {(again == reference ? "is identical" : $"DIFFERS ({again})")}");
            if (again != reference)
            {
                return 1;
            }

            Console.WriteLine("| run | killed at (s) | last line printed before the kill | on disk after the kill | resumed | held-out mAP | same model |");
            Console.WriteLine("|---:|---:|---|---|---|---:|---|");
            var random = new Random(20261202);
            int good = 0;
            for (int run = 1; run <= runs; run++)
            {
                string folder = Path.Combine(root, $"run{run}");
                // Uniform over the run, except every fourth kill aimed at its last fifth (held-out scoring, report, export, which are brief).
                double at = seconds * (run % 4 == 0 ? 0.80 + 0.19 * random.NextDouble() : 0.02 + 0.96 * random.NextDouble());
                (string lastLine, bool killed) = KillAt(dll, folder, TimeSpan.FromSeconds(at));
                string disk = Inspect(folder, out bool whole);
                (Outcome? outcome, string resumed) = Finish(dll, folder);
                bool same = outcome == reference;
                good += whole && same ? 1 : 0;
                Console.WriteLine($"| {run} | {at:F1}{(killed ? "" : " (had ended)")} | {Cell(lastLine)} | {disk} | {resumed} | {outcome?.Map ?? "-"} | {(same ? "yes" : "NO")} |");
                Directory.Delete(folder, recursive: true);
            }
            Console.WriteLine($"{good} of {runs} killed runs ended with whole files on disk after the kill and the uninterrupted run's model and mAP.");
            return good == runs ? 0 : 1;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private sealed record Outcome(string Map, string OnnxSha);

    private static (Outcome Outcome, double Seconds) Uninterrupted(string dll, string folder)
    {
        var clock = Stopwatch.StartNew();
        (Outcome? outcome, string status) = Finish(dll, folder);
        return (outcome ?? throw new InvalidOperationException($"The uninterrupted QuickStart failed: {status}"), clock.Elapsed.TotalSeconds);
    }

    private static string[] Arguments(string dll, string folder)
        => [dll, .. QuickArguments, "--output", Path.Combine(folder, "out"), "--checkpoints", Path.Combine(folder, "checkpoints")];

    /// <summary>Starts the QuickStart and SIGKILLs it after <paramref name="delay"/>; returns its last output line.</summary>
    private static (string LastLine, bool Killed) KillAt(string dll, string folder, TimeSpan delay)
    {
        var lines = new List<string>();
        using Process process = ExampleApps.Start(Arguments(dll, folder), lines);
        bool ended = process.WaitForExit(delay);
        if (!ended)
        {
            process.Kill();  // SIGKILL: no handler, no flush
        }
        process.WaitForExit();
        lock (lines)
        {
            return (lines.LastOrDefault(l => l.Trim().Length > 0) ?? "(no output yet)", !ended);
        }
    }

    /// <summary>Runs the QuickStart to its end; the outcome when it succeeded, and what happened.</summary>
    private static (Outcome? Outcome, string Status) Finish(string dll, string folder)
    {
        var lines = new List<string>();
        using Process process = ExampleApps.Start(Arguments(dll, folder), lines);
        if (!process.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            process.Kill();
            return (null, "hung (10 min)");
        }
        process.WaitForExit();
        string output;
        lock (lines)
        {
            output = string.Join('\n', lines);
        }
        Match map = HeldOut().Match(output);
        string onnx = Path.Combine(folder, "out", "model.onnx");
        if (process.ExitCode != 0 || !map.Success || !File.Exists(onnx))
        {
            return (null, $"exit {process.ExitCode}: {Cell(output.Split('\n').LastOrDefault() ?? "")}");
        }
        string how = output.Contains("Resuming from the checkpoint", StringComparison.Ordinal) ? "from its checkpoint" : "from the start";
        return (new Outcome(map.Groups[1].Value, Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(onnx)))), how);
    }

    /// <summary>What the kill left: each output is absent or whole (checkpoint: a complete safetensors file; ONNX and zip readable).</summary>
    private static string Inspect(string folder, out bool whole)
    {
        var notes = new List<string>();
        whole = true;
        string checkpoint = Path.Combine(folder, "checkpoints", "training.safetensors");
        if (File.Exists(checkpoint))
        {
            bool ok = WholeSafetensors(checkpoint);
            whole &= ok;
            notes.Add(ok ? "checkpoint whole" : "CHECKPOINT DAMAGED");
        }
        else
        {
            notes.Add("no checkpoint yet");
        }
        int leftovers = Directory.Exists(Path.Combine(folder, "checkpoints"))
            ? Directory.GetFiles(Path.Combine(folder, "checkpoints"), ".*.tmp").Length : 0;
        if (leftovers > 0)
        {
            notes.Add($"{leftovers} unfinished write");
        }
        string onnx = Path.Combine(folder, "out", "model.onnx");
        if (File.Exists(onnx))
        {
            bool ok = WholeOnnx(onnx);
            whole &= ok;
            notes.Add(ok ? "onnx whole" : "ONNX DAMAGED");
        }
        string zip = Path.Combine(folder, "out", "model.zip");
        if (File.Exists(zip))
        {
            bool ok = WholeZip(zip);
            whole &= ok;
            notes.Add(ok ? "zip whole" : "ZIP DAMAGED");
        }
        return string.Join(", ", notes);
    }

    /// <summary>The safetensors layout checked from the bytes alone: header length, JSON header, every tensor inside and the file ending at the last.</summary>
    private static bool WholeSafetensors(string path)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            long headerLength = BitConverter.ToInt64(bytes, 0);
            if (headerLength <= 0 || 8 + headerLength > bytes.Length)
            {
                return false;
            }
            using JsonDocument header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
            long end = 0;
            foreach (JsonProperty tensor in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
            {
                end = Math.Max(end, tensor.Value.GetProperty("data_offsets")[1].GetInt64());
            }
            return 8 + headerLength + end == bytes.Length;
        }
        catch (Exception e) when (e is JsonException or ArgumentException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            return false;
        }
    }

    private static bool WholeOnnx(string path)
    {
        try
        {
            return global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path)).Graph.Node.Count > 0;
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            return false;
        }
    }

    private static bool WholeZip(string path)
    {
        try
        {
            using ZipArchive zip = ZipFile.OpenRead(path);
            foreach (ZipArchiveEntry entry in zip.Entries)
            {
                using Stream stream = entry.Open();
                stream.CopyTo(Stream.Null);
            }
            return zip.Entries.Count > 0;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static string Cell(string text)
    {
        string flat = text.Replace('|', '/').Trim();
        return flat.Length <= 60 ? flat : flat[..57] + "...";
    }

    [GeneratedRegex(@"Held-out mAP: ([0-9.]+)%")]
    private static partial Regex HeldOut();
}
