using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Microsoft.ML;
using Miil.ML.Datasets;
using Miil.ML.Images;
using Miil.ML.Onnx.Scoring;
using Miil.ML.TorchSharp.Checkpoints;
using Miil.ML.TorchSharp.Export;
using Miil.ML.TorchSharp.Models.TResNet;
using SkiaSharp;
using TorchSharp.PyBridge;

namespace Miil.ML.Benchmarks.Soak;

/// <summary>
/// <c>soak fuzz</c>: mutated PNG and JPEG files (byte flips, truncation, chunk swaps, zeroed ranges,
/// headers declaring huge sizes) through the trainer's loader (<see cref="ImagePreprocessor"/>) and the
/// scorer, and mutated checkpoints (safetensors and .pth) through the TResNet checkpoint loader. Each
/// file must either work or raise the documented exception naming it; any other exception, a hang
/// (30 s) or a crash of the process fails the soak.
/// </summary>
internal static class FuzzSoak
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    public static int Run(int images, int checkpoints)
    {
        string folder = SoakCommand.Scratch("fuzz");
        try
        {
            bool imagesOk = Images(folder, images);
            bool checkpointsOk = Checkpoints(folder, checkpoints);
            return imagesOk && checkpointsOk ? 0 : 1;
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private sealed class Tally
    {
        public int Files;
        public int Worked;
        public int Refused;
        public int Unnamed;
        public int Other;
        public int Hangs;
        public double MaxMs;
        public readonly List<string> Examples = [];

        public void Add(Outcome outcome, double ms, string? detail)
        {
            Files++;
            MaxMs = Math.Max(MaxMs, ms);
            switch (outcome)
            {
                case Outcome.Worked: Worked++; break;
                case Outcome.Refused: Refused++; break;
                case Outcome.Unnamed: Unnamed++; break;
                case Outcome.Other: Other++; break;
                case Outcome.Hang: Hangs++; break;
            }
            if (outcome is not (Outcome.Worked or Outcome.Refused) && detail is not null && Examples.Count < 5)
            {
                Examples.Add(detail);
            }
        }

        public bool Ok => Unnamed + Other + Hangs == 0;
    }

    private enum Outcome { Worked, Refused, Unnamed, Other, Hang }

    private static bool Images(string folder, int count)
    {
        string seeds = Path.Combine(folder, "seeds");
        string manifest = SyntheticShapes.Write(new SyntheticShapesOptions { Count = 8, ImageSize = 64, ClassCount = 8, Seed = 9 }, seeds);
        List<(string Format, byte[] Bytes)> originals = [];
        foreach (string relative in File.ReadAllLines(manifest).Skip(1).Select(l => l.Split(',')[0]))
        {
            byte[] png = File.ReadAllBytes(Path.Combine(seeds, relative));
            originals.Add(("png", png));
            using SKBitmap bitmap = SKBitmap.Decode(png);
            using SKImage image = SKImage.FromBitmap(bitmap);
            using SKData jpeg = image.Encode(SKEncodedImageFormat.Jpeg, 90);
            originals.Add(("jpg", jpeg.ToArray()));
        }

        var ml = new MLContext(seed: 0);
        var preprocessor = new ImagePreprocessor(ml, ImagePreprocessing.Unnormalized(32), workers: 1);
        using var network = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 8);
        network.eval();
        using var scorer = new OnnxImageScorer(ml, OnnxExporter.Export(network, new OnnxExportOptions { ImageSize = 32 }));
        float[] buffer = new float[preprocessor.Length];

        var random = new Random(1202);
        var loader = new Dictionary<string, Tally>();
        var scoring = new Dictionary<string, Tally>();
        string mutated = Path.Combine(folder, "mutated");
        Directory.CreateDirectory(mutated);
        PeakMemory.Reset();
        for (int i = 0; i < count; i++)
        {
            (string format, byte[] original) = originals[random.Next(originals.Count)];
            (string kind, byte[] bytes) = Mutate(original, format, random);
            string path = Path.Combine(mutated, $"{i:D4}-{kind}.{format}");
            File.WriteAllBytes(path, bytes);
            string key = $"{format} {kind}";
            Record(loader, key, path, () =>
            {
                InvalidOperationException? error = preprocessor.FillEach([path], buffer)[0];
                if (error is not null)
                {
                    throw error;
                }
            });
            Record(scoring, key, path, () => scorer.Score([path]));
        }
        double peak = PeakMemory.MiB();
        bool ok = Print($"Images: {count} mutated files from {originals.Count} built-in PNG and JPEG images; peak resident {peak:F0} MiB", "trainer's loader", loader)
            & Print(null, "scorer", scoring);
        return ok;
    }

    private static bool Checkpoints(string folder, int count)
    {
        using var model = new TResNet(TResNetArchitecture.Custom([1, 1, 1, 1], 0.25), 5);
        string safetensors = Path.Combine(folder, "tiny.safetensors");
        TResNetCheckpoint.Save(model, safetensors);
        string pth = Path.Combine(folder, "tiny.pth");
        using (FileStream stream = File.Create(pth))
        {
            PyTorchPickler.PickleStateDict(stream, model.StateDictInReferenceOrder().Where(kv => !kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToDictionary());
        }
        (string Format, byte[] Bytes)[] originals = [("safetensors", File.ReadAllBytes(safetensors)), ("pth", File.ReadAllBytes(pth))];

        var random = new Random(2026);
        var tallies = new Dictionary<string, Tally>();
        PeakMemory.Reset();
        for (int i = 0; i < count; i++)
        {
            (string format, byte[] original) = originals[i % 2];
            (string kind, byte[] bytes) = format == "safetensors" ? MutateSafetensors(original, random) : MutateAnything(original, random);
            string path = Path.Combine(folder, $"{i:D4}-{kind}.{format}");
            File.WriteAllBytes(path, bytes);
            using var target = new TResNet(model.Architecture, 5);
            Record(tallies, $"{format} {kind}", path, () => TResNetCheckpoint.Load(target, path), e => e is CheckpointFormatException c && c.FilePath == path);
        }
        return Print($"Checkpoints: {count} mutated files from a tiny TResNet's safetensors and .pth; peak resident {PeakMemory.MiB():F0} MiB", "checkpoint loader", tallies);
    }

    private static void Record(Dictionary<string, Tally> tallies, string key, string path, Action action, Func<Exception, bool>? isNamed = null)
    {
        isNamed ??= e => e is InvalidOperationException && e.Message.Contains(path, StringComparison.Ordinal);
        if (!tallies.TryGetValue(key, out Tally? tally))
        {
            tallies[key] = tally = new Tally();
        }
        var clock = Stopwatch.StartNew();
        Exception? error = null;
        Task task = Task.Run(() =>
        {
            try
            {
                action();
            }
            catch (Exception e)
            {
                error = e;
            }
        });
        if (!task.Wait(Hang))
        {
            tally.Add(Outcome.Hang, clock.Elapsed.TotalMilliseconds, $"{Path.GetFileName(path)}: no answer in {Hang.TotalSeconds} s");
            return;
        }
        double ms = clock.Elapsed.TotalMilliseconds;
        if (error is null)
        {
            tally.Add(Outcome.Worked, ms, null);
        }
        else if (isNamed(error))
        {
            tally.Add(Outcome.Refused, ms, null);
        }
        else
        {
            bool documented = error is InvalidOperationException or CheckpointFormatException;
            tally.Add(documented ? Outcome.Unnamed : Outcome.Other, ms, $"{Path.GetFileName(path)}: {error.GetType().Name}: {error.Message.Split('\n')[0]}");
        }
    }

    private static bool Print(string? title, string through, Dictionary<string, Tally> tallies)
    {
        if (title is not null)
        {
            Console.WriteLine(title);
            Console.WriteLine("| through | mutation | files | worked | refused, file named | refused, not named | other exceptions | hangs | slowest (ms) |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
        }
        foreach ((string key, Tally t) in tallies.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Console.WriteLine($"| {through} | {key} | {t.Files} | {t.Worked} | {t.Refused} | {t.Unnamed} | {t.Other} | {t.Hangs} | {t.MaxMs:F0} |");
        }
        foreach (string example in tallies.Values.SelectMany(t => t.Examples).Take(10))
        {
            Console.WriteLine($"  failure: {example}");
        }
        return tallies.Values.All(t => t.Ok);
    }

    /// <summary>One image mutation: the kind's name and the mutated bytes.</summary>
    private static (string Kind, byte[] Bytes) Mutate(byte[] original, string format, Random random)
    {
        switch (random.Next(5))
        {
            case 0:
                return ("flip", Flip(original, random));
            case 1:
                return ("truncate", original[..random.Next(1, original.Length)]);
            case 2:
                return ("chunk swap", format == "png" ? SwapPngChunks(original, random) : SwapJpegSegments(original, random));
            case 3:
                byte[] zeroed = (byte[])original.Clone();
                int start = random.Next(zeroed.Length), length = random.Next(1, Math.Min(256, zeroed.Length - start) + 1);
                Array.Clear(zeroed, start, length);
                return ("zeroed range", zeroed);
            default:
                return ("huge size", format == "png" ? HugePng(original, random) : HugeJpeg(original, random));
        }
    }

    private static byte[] Flip(byte[] original, Random random)
    {
        byte[] bytes = (byte[])original.Clone();
        for (int n = random.Next(1, 17); n > 0; n--)
        {
            bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
        }
        return bytes;
    }

    private static List<(int Start, int Length)> PngChunks(byte[] png)
    {
        var chunks = new List<(int, int)>();
        for (int at = 8; at + 12 <= png.Length;)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(at));
            if (length < 0 || at + 12 + length > png.Length)
            {
                break;
            }
            chunks.Add((at, 12 + length));
            at += 12 + length;
        }
        return chunks;
    }

    private static byte[] SwapPngChunks(byte[] png, Random random)
    {
        List<(int Start, int Length)> chunks = PngChunks(png);
        return chunks.Count < 2 ? Flip(png, random) : Swapped(png, chunks, random);
    }

    private static byte[] SwapJpegSegments(byte[] jpeg, Random random)
    {
        // Marker segments before the scan: FF xx, then a big-endian length that counts itself.
        var segments = new List<(int, int)>();
        for (int at = 2; at + 4 <= jpeg.Length && jpeg[at] == 0xFF && jpeg[at + 1] != 0xDA;)
        {
            int length = BinaryPrimitives.ReadUInt16BigEndian(jpeg.AsSpan(at + 2));
            if (at + 2 + length > jpeg.Length)
            {
                break;
            }
            segments.Add((at, 2 + length));
            at += 2 + length;
        }
        return segments.Count < 2 ? Flip(jpeg, random) : Swapped(jpeg, segments, random);
    }

    /// <summary>The bytes with two of the given ranges exchanged.</summary>
    private static byte[] Swapped(byte[] bytes, List<(int Start, int Length)> ranges, Random random)
    {
        int a = random.Next(ranges.Count), b = random.Next(ranges.Count - 1);
        b += b >= a ? 1 : 0;
        ((int Start, int Length) first, (int Start, int Length) second) = a < b ? (ranges[a], ranges[b]) : (ranges[b], ranges[a]);
        return [.. bytes[..first.Start], .. bytes.AsSpan(second.Start, second.Length), .. bytes[(first.Start + first.Length)..second.Start],
            .. bytes.AsSpan(first.Start, first.Length), .. bytes[(second.Start + second.Length)..]];
    }

    /// <summary>A PNG whose header declares a huge size, with a valid CRC so that only the size is wrong.</summary>
    private static byte[] HugePng(byte[] png, Random random)
        => Testing.PngBytes.DeclaringSize(png, random.Next(20_000, int.MaxValue), random.Next(20_000, int.MaxValue));

    /// <summary>A JPEG whose frame header declares 65535 x 65535.</summary>
    private static byte[] HugeJpeg(byte[] jpeg, Random random)
    {
        byte[] bytes = (byte[])jpeg.Clone();
        for (int at = 2; at + 9 <= bytes.Length && bytes[at] == 0xFF;)
        {
            byte marker = bytes[at + 1];
            if (marker is >= 0xC0 and <= 0xC3)
            {
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at + 5), (ushort)random.Next(20_000, 65536));
                BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(at + 7), (ushort)random.Next(20_000, 65536));
                return bytes;
            }
            at += 2 + BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(at + 2));
        }
        return Flip(jpeg, random);
    }

    private static (string Kind, byte[] Bytes) MutateAnything(byte[] original, Random random) => random.Next(3) switch
    {
        0 => ("flip", Flip(original, random)),
        1 => ("truncate", original[..random.Next(1, original.Length)]),
        _ => ("range swap", Swapped(original, [.. Enumerable.Range(0, 8).Select(k => (k * original.Length / 8, original.Length / 16))], random)),
    };

    /// <summary>Safetensors mutations: anywhere, or aimed at the header (its length, its numbers, its dtypes).</summary>
    private static (string Kind, byte[] Bytes) MutateSafetensors(byte[] original, Random random)
    {
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(original);
        switch (random.Next(5))
        {
            case 0:
            {
                byte[] bytes = (byte[])original.Clone();
                BinaryPrimitives.WriteInt64LittleEndian(bytes, random.Next(3) switch { 0 => -random.Next(1, 1000), 1 => random.NextInt64(1L << 40), _ => headerLength + random.Next(-64, 64) });
                return ("header length", bytes);
            }
            case 1:
            {
                // A number in the header (a shape or an offset) changed, the header kept the same length.
                string header = Encoding.UTF8.GetString(original, 8, (int)headerLength);
                int[] digits = Enumerable.Range(0, header.Length).Where(k => char.IsAsciiDigit(header[k])).ToArray();
                char[] text = header.ToCharArray();
                for (int n = random.Next(1, 4); n > 0; n--)
                {
                    text[digits[random.Next(digits.Length)]] = (char)('0' + random.Next(10));
                }
                return ("header numbers", [.. original[..8], .. Encoding.UTF8.GetBytes(text), .. original[(8 + (int)headerLength)..]]);
            }
            case 2:
            {
                string header = Encoding.UTF8.GetString(original, 8, (int)headerLength);
                string[] dtypes = ["F16", "I64", "BF16", "U8", "XX", "F64", "BOOL"];
                string changed = ReplaceOnce(header, "\"F32\"", $"\"{dtypes[random.Next(dtypes.Length)]}\"", random);
                byte[] encoded = Encoding.UTF8.GetBytes(changed);
                byte[] length = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(length, encoded.Length);
                return ("header dtype", [.. length, .. encoded, .. original[(8 + (int)headerLength)..]]);
            }
            default:
                return MutateAnything(original, random);
        }
    }

    private static string ReplaceOnce(string text, string find, string with, Random random)
    {
        var at = new List<int>();
        for (int k = text.IndexOf(find, StringComparison.Ordinal); k >= 0; k = text.IndexOf(find, k + 1, StringComparison.Ordinal))
        {
            at.Add(k);
        }
        if (at.Count == 0)
        {
            return text;
        }
        int pick = at[random.Next(at.Count)];
        return text[..pick] + with + text[(pick + find.Length)..];
    }
}
