namespace Miil.ML.Onnx.Serving;

/// <summary>The scorer's queue is full: the caller should retry later (HTTP 503).</summary>
public sealed class ScoringQueueFullException(int length) : InvalidOperationException($"{length} requests are already waiting to be scored; try again shortly.")
{
    /// <summary>The queue's length limit.</summary>
    public int Length { get; } = length;
}
