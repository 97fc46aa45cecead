using Miil.ML.Cli.Output;
using Miil.ML.Evaluation;

namespace Miil.ML.Cli.Commands;

/// <summary>The papers' metrics as tables: the summary (mAP, CP/CR/CF1, OP/OR/OF1) and each class's AP.</summary>
internal static class MetricsView
{
    /// <summary>Classes listed one by one up to this count; beyond it the worst ones (all with --verbosity detailed).</summary>
    private const int ClassRows = 30;

    public static void Write(Terminal terminal, MultiLabelMetrics m, string title)
    {
        static string P(double v) => double.IsNaN(v) ? "-" : $"{100 * v:F2}";
        DecisionMetrics d = m.AtThreshold;
        terminal.Table(title, ["Images", "Classes", "mAP", "CP", "CR", "CF1", "OP", "OR", "OF1"],
            [[$"{m.SampleCount}", $"{m.ClassCount}", P(m.MeanAveragePrecision), P(d.CP), P(d.CR), P(d.CF1), P(d.OP), P(d.OR), P(d.OF1)]]);
        IEnumerable<ClassMetrics> classes = m.PerClass;
        string heading = "Per class";
        if (m.ClassCount > ClassRows && terminal.Verbosity < Verbosity.Detailed)
        {
            classes = m.PerClass.Where(c => c.HasPositives).OrderBy(c => c.AveragePrecision).Take(ClassRows / 3);
            heading = $"The {ClassRows / 3} classes of lowest AP (--verbosity detailed lists all {m.ClassCount})";
        }
        terminal.Table(heading, ["Class", "AP", "Positives", "Precision", "Recall"],
            classes.Select(c => (IReadOnlyList<string>)[c.Name, c.HasPositives ? P(c.AveragePrecision) : "-", $"{c.Positives}", P(c.Precision), P(c.Recall)]));
        if (m.ClassesWithoutPositives.Count > 0)
        {
            terminal.Info($"{m.ClassesWithoutPositives.Count} classes have no positive image here and are left out of mAP: {string.Join(", ", m.ClassesWithoutPositives.Take(10))}{(m.ClassesWithoutPositives.Count > 10 ? ", ..." : "")}.");
        }
    }
}
