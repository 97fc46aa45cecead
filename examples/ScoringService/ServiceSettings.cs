using Miil.ML.Onnx.Serving;

namespace ScoringService;

/// <summary>The "Scoring" configuration section (appsettings.json, environment Scoring__*, command line --Scoring:*).</summary>
internal sealed class ServiceSettings
{
    public string ModelPath { get; set; } = "model.onnx";
    public int MaxBatchSize { get; set; } = 16;
    public double MaxDelayMilliseconds { get; set; } = 2;
    public int MaxQueueLength { get; set; } = 1024;
    public int MaxConcurrentBatches { get; set; } = 2;
    public int? GpuDeviceId { get; set; }
    public bool ReloadOnChange { get; set; } = true;
    public long MaxImageBytes { get; set; } = 10 << 20;
    public int MaxBatchImages { get; set; } = 32;

    public MultiLabelScoringOptions ToOptions() => new()
    {
        ModelPath = Path.GetFullPath(ModelPath),
        MaxBatchSize = MaxBatchSize,
        MaxDelay = TimeSpan.FromMilliseconds(MaxDelayMilliseconds),
        MaxQueueLength = MaxQueueLength,
        MaxConcurrentBatches = MaxConcurrentBatches,
        GpuDeviceId = GpuDeviceId,
        ReloadOnChange = ReloadOnChange,
    };
}
