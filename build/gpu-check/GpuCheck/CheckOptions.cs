using System.Globalization;

namespace GpuCheck;

/// <summary>The check's command line (all optional).</summary>
internal sealed record CheckOptions
{
    public string Models { get; init; } = Path.Combine(AppContext.BaseDirectory, "models");
    public IReadOnlyList<int> Batches { get; init; } = new[] { 1, 16, 64, 256 };
    public double Seconds { get; init; } = 3;
    public int RandomImages { get; init; } = 4;
    public int Device { get; init; }
    public bool CpuOnly { get; init; }
    public bool RequireCuda { get; init; }

    public const string Usage = """
        GpuCheck: the GPU doctor, then TResNet-M scored on ONNX Runtime's CUDA and CPU providers
        (parity and throughput, one table). Exit code: 0 passed, 1 parity failed, 2 bad input,
        3 CUDA required (--require-cuda) but not usable.

          --models DIR      model-float32.onnx, model-float16.onnx and images/ [<app>/models]
          --batches LIST    batch sizes to time [1,16,64,256]
          --seconds S       least time per table row [3]
          --random N        random inputs added to the built-in images for parity [4]
          --device N        CUDA device [0]
          --cpu-only        skip CUDA even where it is usable (the dry run)
          --require-cuda    exit 3 when CUDA is not usable (on the GPU host)
        """;

    public static CheckOptions Parse(string[] args)
    {
        var o = new CheckOptions();
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {name} needs a value.");
            int Int(string text) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) && v >= 0
                ? v : throw new ArgumentException($"Option {name} needs whole numbers, got '{text}'.");
            o = name switch
            {
                "--models" => o with { Models = Path.GetFullPath(Value()) },
                "--batches" => o with { Batches = Value().Split(',').Select(b => Int(b) is > 0 and int v ? v : throw new ArgumentException($"Option {name} needs positive batch sizes, got '{b}'.")).ToArray() },
                "--seconds" => o with
                {
                    Seconds = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double s) && s > 0
                        ? s : throw new ArgumentException($"Option {name} needs a positive number, got '{args[i]}'."),
                },
                "--random" => o with { RandomImages = Int(Value()) },
                "--device" => o with { Device = Int(Value()) },
                "--cpu-only" => o with { CpuOnly = true },
                "--require-cuda" => o with { RequireCuda = true },
                _ => throw new ArgumentException($"Unknown option '{name}'. --help lists the options."),
            };
        }
        return o;
    }
}
