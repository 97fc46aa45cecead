// GpuCheck: proves (or disproves) Miil.ML's CUDA scoring path on a GPU host without .NET or internet.
// 1. the GPU doctor; 2. TResNet-M (float32 and float16 ONNX, carried) on CUDA and CPU: parity on the
// built-in images and random inputs; 3. throughput at several batch sizes, with and without IO binding;
// one table; exit code non-zero when parity fails (see --help).
using System.Globalization;
using Microsoft.ML.OnnxRuntime;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Diagnostics;
using GpuCheck;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(CheckOptions.Usage);
    return 0;
}
CheckOptions o;
try
{
    o = CheckOptions.Parse(args);
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

Console.WriteLine($"GpuCheck {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.MachineName}");
DoctorReport doctor = MultiLabelDoctor.Examine(new DoctorOptions { GpuDeviceId = o.Device });
Console.WriteLine(doctor);
Console.WriteLine();

string float32Path = Path.Combine(o.Models, "model-float32.onnx"), float16Path = Path.Combine(o.Models, "model-float16.onnx");
if (!File.Exists(float32Path))
{
    Console.Error.WriteLine($"GpuCheck: no model at '{float32Path}' (run.sh puts it there; --models DIR points elsewhere).");
    return 2;
}
byte[] float32 = File.ReadAllBytes(float32Path);
byte[]? float16 = File.Exists(float16Path) ? File.ReadAllBytes(float16Path) : null;
MultiLabelOnnxModel model;
(float[] Pixels, int Count, int Images) parity;
try
{
    model = MultiLabelOnnxModel.Read(float32, $"'{float32Path}'");
    parity = Inputs.Build(model, Path.Combine(o.Models, "images"), o.RandomImages);
}
catch (Exception e) when (e is InvalidOperationException or ArgumentException)
{
    Console.Error.WriteLine($"GpuCheck: {e.Message}");
    return 2;
}
int size = model.ImageSize;
string network = NetworkName(model.Architecture);
bool cuda = doctor.CudaScoringAvailable && !o.CpuOnly;
Console.WriteLine($"Model: {network}, {size} px, {model.ClassNames.Count} classes; parity batch: {parity.Images} built-in images + {parity.Count - parity.Images} random inputs.");
Console.WriteLine(cuda ? $"CUDA: usable on device {o.Device}." : o.CpuOnly ? "CUDA: skipped (--cpu-only)." : "CUDA: ABSENT (see the doctor above): the CPU half only.");
Console.WriteLine();

var parityRows = new List<ParityRow>();
var rows = new List<ThroughputRow>();
var failures = new List<string>();

// One table row; a row that fails (out of GPU memory at a large batch, say) is reported, not fatal.
void Time(Func<ThroughputRow> measure, string provider, string precision, int batch, bool binding)
{
    try
    {
        ThroughputRow row = measure();
        rows.Add(row);
        Console.Error.WriteLine(F($"  {provider} {precision} batch {batch}{(binding ? " IO binding" : "")}: {row.ImagesPerSecond:F1} images/s"));
    }
    catch (OnnxRuntimeException e)
    {
        failures.Add(F($"{provider} {precision} batch {batch}{(binding ? " IO binding" : "")}: {e.Message.Split('\n')[0]}"));
        Console.Error.WriteLine($"  {failures[^1]}");
    }
}
string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
using (InferenceSession cpu32 = Provider.Cpu.Open(float32))
{
    // The reference: logits and scores of one CPU float32 run.
    float[][] reference = Parity.Run(cpu32, parity.Pixels, parity.Count, size, OnnxModelContract.LogitsName, OnnxModelContract.ScoreName);
    float[] logits = reference[0], scores = reference[1];
    if (logits.Any(v => !float.IsFinite(v)))
    {
        parityRows.Add(new ParityRow("CPU float32 (reference)", "logits", double.PositiveInfinity, 0));
    }
    if (float16 is not null)
    {
        using InferenceSession cpu16 = Provider.Cpu.Open(float16);
        parityRows.Add(new ParityRow("CPU float16", "scores", Parity.Absolute(Parity.Run(cpu16, parity.Pixels, parity.Count, size, OnnxModelContract.ScoreName)[0], scores), Parity.Float16Limit));
    }
    if (cuda)
    {
        foreach (bool tf32 in new[] { false, true })
        {
            Provider p = Provider.CudaOn(o.Device, tf32);
            using InferenceSession session = p.Open(float32);
            double error = Parity.Relative(Parity.Run(session, parity.Pixels, parity.Count, size, OnnxModelContract.LogitsName)[0], logits);
            parityRows.Add(new ParityRow($"{p.Name} float32", "logits", error, tf32 ? null : Parity.Float32Limit));
        }
        if (float16 is not null)
        {
            using InferenceSession session = Provider.CudaOn(o.Device, tf32: false).Open(float16);
            parityRows.Add(new ParityRow("CUDA float16", "scores", Parity.Absolute(Parity.Run(session, parity.Pixels, parity.Count, size, OnnxModelContract.ScoreName)[0], scores), Parity.Float16Limit));
        }
    }

    foreach (int batch in o.Batches)
    {
        float[] pixels = Inputs.Tile(parity.Pixels, parity.Count, batch);
        if (cuda)
        {
            foreach ((string precision, byte[]? bytes) in new[] { ("float32", float32), ("float16", float16) })
            {
                if (bytes is null)
                {
                    continue;
                }
                // ONNX Runtime's defaults (TF32 on where the GPU has it): what a user gets.
                Provider p = Provider.CudaOn(o.Device, tf32: true);
                using InferenceSession session = p.Open(bytes);
                foreach (bool binding in new[] { false, true })
                {
                    Time(() => Throughput.Measure(session, p, precision, pixels, batch, size, binding, o.Seconds), p.Name, precision, batch, binding);
                }
            }
        }
        foreach (bool binding in new[] { false, true })
        {
            Time(() => Throughput.Measure(cpu32, Provider.Cpu, "float32", pixels, batch, size, binding, o.Seconds), Provider.Cpu.Name, "float32", batch, binding);
        }
    }
}

Console.WriteLine("Parity against CPU float32 (relative error of the logits for float32, absolute error of the scores for float16):");
foreach (ParityRow r in parityRows)
{
    string limit = r.Limit is double l ? "limit " + l.ToString("0e+0", CultureInfo.InvariantCulture) : "for information";
    Console.WriteLine(F($"  {(r.Passed ? "pass" : "FAIL")}  {r.What}, {r.Output}: {r.Error:0.00e+0} ({limit})"));
}
Console.WriteLine();
string device = doctor.Findings.FirstOrDefault(f => f.Area == "CUDA" && f.Item == $"device {o.Device}")?.Value ?? "no GPU";
Console.WriteLine(F($"{network} at {size} px; ONNX Runtime {OrtEnv.Instance().GetVersionString()}; GPU: {device}; CPU: {Environment.ProcessorCount} logical cores"));
Console.WriteLine("| provider | precision | batch | IO binding | images/s | ms/batch | runs |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (ThroughputRow r in rows)
{
    Console.WriteLine(F($"| {r.Provider} | {r.Precision} | {r.Batch} | {(r.IoBinding ? "yes" : "no")} | {r.ImagesPerSecond:F1} | {r.MillisecondsPerBatch:F2} | {r.Runs} |"));
}
foreach (string failure in failures)
{
    Console.WriteLine($"not timed: {failure}");
}
Console.WriteLine();
bool passed = parityRows.All(r => r.Passed);
Console.WriteLine($"Parity: {(passed ? "passed" : "FAILED")}; CUDA: {(cuda ? "checked" : "not checked")}.");
if (!passed)
{
    return 1;
}
return !cuda && o.RequireCuda && !o.CpuOnly ? 3 : 0;

// "TResNet-M" from the model's architecture record ({"family":"TResNet","name":"M",...}).
static string NetworkName(string? architecture)
{
    if (architecture is null)
    {
        return "unknown network";
    }
    try
    {
        using var json = System.Text.Json.JsonDocument.Parse(architecture);
        string family = json.RootElement.TryGetProperty("family", out var f) ? f.GetString() ?? "" : "";
        string name = json.RootElement.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        return $"{family}-{name}";
    }
    catch (System.Text.Json.JsonException)
    {
        return architecture;
    }
}
