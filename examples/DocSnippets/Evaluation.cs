using Microsoft.ML;
using Miil.ML;
using Miil.ML.Evaluation;
using Miil.ML.Reports;

namespace DocSnippets;

/// <summary>docs/evaluation.md.</summary>
public static class Evaluation
{
    public static (MultiLabelMetrics, MultiLabelMetrics) BothLevels(MLContext mlContext, IDataView scored, float[] scores, float[] labels, int classCount, IReadOnlyList<string> classNames)
    {
        MultiLabelMetrics m = mlContext.MultiLabel().Evaluate(scored,                  // an IDataView
            labelColumnName: "Label", scoreColumnName: "Score", threshold: 0.5f, topK: 3);

        MultiLabelMetrics a = mlContext.MultiLabel().Evaluate(scores, labels, classCount,   // row-major N x C arrays
            classNames, threshold: 0.5f, topK: 3);
        return (m, a);
    }

    public static string Report(MultiLabelMetrics metrics)
    {
        metrics.SaveReport("report.html");   // or .md / .json, chosen by extension, written atomically
        string markdown = MultiLabelReport.ToMarkdown(metrics);
        return markdown;
    }
}
