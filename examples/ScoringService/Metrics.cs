using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Miil.ML.Onnx.Serving;

namespace ScoringService;

/// <summary>HTTP-level counters, written with the scorer's own statistics in Prometheus' text format.</summary>
internal sealed class Metrics
{
    private readonly ConcurrentDictionary<(string Endpoint, int Status), long> _responses = new();

    public void Count(string endpoint, int status) => _responses.AddOrUpdate((endpoint, status), 1, (_, n) => n + 1);

    public string Prometheus(MultiLabelScoringService service)
    {
        var text = new StringBuilder();
        void Line(string line) => text.Append(line).Append('\n');
        Line("# HELP miil_http_responses_total Responses by endpoint and status code.");
        Line("# TYPE miil_http_responses_total counter");
        foreach (((string endpoint, int status), long n) in _responses.OrderBy(kv => kv.Key))
        {
            Line(FormattableString.Invariant($"miil_http_responses_total{{endpoint=\"{endpoint}\",status=\"{status}\"}} {n}"));
        }
        ScoringStatistics s = service.Statistics;
        Line("# HELP miil_scoring_requests_total Images scored or refused by the scorer.");
        Line("# TYPE miil_scoring_requests_total counter");
        Line(FormattableString.Invariant($"miil_scoring_requests_total {s.Requests}"));
        Line("# HELP miil_scoring_failures_total Images the scorer could not score (unreadable, cancelled, queue full).");
        Line("# TYPE miil_scoring_failures_total counter");
        Line(FormattableString.Invariant($"miil_scoring_failures_total {s.Failures}"));
        Line("# HELP miil_scoring_batches_total ONNX Runtime calls by the number of images they scored.");
        Line("# TYPE miil_scoring_batches_total counter");
        foreach ((int size, long n) in s.BatchSizes)
        {
            Line(FormattableString.Invariant($"miil_scoring_batches_total{{size=\"{size}\"}} {n}"));
        }
        Line("# HELP miil_scoring_latency_seconds Time from a request's image to its scores (recent requests).");
        Line("# TYPE miil_scoring_latency_seconds summary");
        foreach (double q in new[] { 0.5, 0.9, 0.99 })
        {
            double ms = s.LatencyQuantile(q);
            Line(string.Create(CultureInfo.InvariantCulture, $"miil_scoring_latency_seconds{{quantile=\"{q}\"}} {(double.IsNaN(ms) ? "NaN" : (ms / 1000).ToString("G6", CultureInfo.InvariantCulture))}"));
        }
        Line("# HELP miil_model_reloads_total Times the model file was reloaded.");
        Line("# TYPE miil_model_reloads_total counter");
        Line(FormattableString.Invariant($"miil_model_reloads_total {service.Reloads}"));
        return text.ToString();
    }
}
