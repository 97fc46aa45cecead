using System.Globalization;
using System.Text;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// What <c>mlContext.MultiLabel().Doctor()</c> found: the system, CUDA, ONNX Runtime, libtorch and a
/// parity check, each problem with its fix. <see cref="ToString"/> gives the readable report.
/// </summary>
public sealed class DoctorReport
{
    private readonly List<DoctorFinding> _findings = new();
    private readonly List<ParityResult> _parity = new();

    /// <summary>Every finding, in the order the probes made them.</summary>
    public IReadOnlyList<DoctorFinding> Findings => _findings;

    /// <summary>The findings that stop something from running, each with its fix.</summary>
    public IReadOnlyList<DoctorFinding> Problems => _findings.Where(f => f.Status == DoctorStatus.Problem).ToList();

    /// <summary>The parity checks that ran, one per execution provider.</summary>
    internal IReadOnlyList<ParityResult> Parity => _parity;

    /// <summary>Whether ONNX Runtime's CUDA provider loaded and opened a session on the chosen device.</summary>
    public bool CudaScoringAvailable { get; internal set; }

    /// <summary>Whether libtorch can train on CUDA (false when Miil.ML.TorchSharp is absent or libtorch is the CPU build).</summary>
    public bool CudaTrainingAvailable { get; set; }

    /// <summary>Where ONNX Runtime's CUDA provider library is (found next to ONNX Runtime), or null.</summary>
    internal string? CudaProviderLibrary { get; set; }

    /// <summary>Whether ONNX Runtime is a GPU build that lists the CUDA provider.</summary>
    internal bool CudaProviderListed { get; set; }

    /// <summary>Whether the driver, a device and every library the CUDA provider needs were found.</summary>
    internal bool CudaLibrariesReady { get; set; }

    /// <summary>Whether every parity check that ran stayed within its tolerance (true when none ran).</summary>
    public bool ParityPassed => _parity.All(p => p.Passed);

    /// <summary>Adds a finding; probes call this.</summary>
    /// <param name="finding">What was found.</param>
    public void Add(DoctorFinding finding)
    {
        ArgumentNullException.ThrowIfNull(finding);
        _findings.Add(finding);
    }

    internal void Add(string area, string item, string value, DoctorStatus status, string? fix = null) =>
        _findings.Add(new DoctorFinding(area, item, value, status, fix));

    internal void AddParity(ParityResult result) => _parity.Add(result);

    /// <summary>The first finding about <paramref name="item"/> in <paramref name="area"/>, or null.</summary>
    /// <param name="area">The area, as in <see cref="DoctorFinding.Area"/>.</param>
    /// <param name="item">The item, as in <see cref="DoctorFinding.Item"/>.</param>
    public DoctorFinding? Find(string area, string item) =>
        _findings.FirstOrDefault(f => f.Area == area && f.Item == item);

    /// <summary>The report as text: one block per area, a mark per finding, fixes under the problems, a summary line.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        int width = _findings.Count == 0 ? 0 : _findings.Max(f => f.Item.Length);
        foreach (IGrouping<string, DoctorFinding> area in _findings.GroupBy(f => f.Area))
        {
            text.Append(area.Key).Append('\n');
            foreach (DoctorFinding f in area)
            {
                text.Append("  ").Append(Mark(f.Status)).Append(' ').Append(f.Item.PadRight(width)).Append("  ").Append(f.Value).Append('\n');
                if (f.Fix is not null)
                {
                    text.Append("  ").Append(' ', width + 4).Append("fix: ").Append(f.Fix).Append('\n');
                }
            }
        }
        int problems = _findings.Count(f => f.Status == DoctorStatus.Problem);
        int warnings = _findings.Count(f => f.Status == DoctorStatus.Warning);
        text.Append(string.Create(CultureInfo.InvariantCulture,
            $"Scoring on GPU: {(CudaScoringAvailable ? "yes" : "no")}; training on GPU: {(CudaTrainingAvailable ? "yes" : "no")}; parity: {(_parity.Count == 0 ? "not run" : ParityPassed ? "passed" : "FAILED")}; {problems} problem(s), {warnings} warning(s)."));
        return text.ToString();
    }

    private static string Mark(DoctorStatus status) => status switch
    {
        DoctorStatus.Ok => "[ok]  ",
        DoctorStatus.Info => "[info]",
        DoctorStatus.Warning => "[warn]",
        _ => "[FAIL]",
    };
}

/// <summary>A tiny model scored on one execution provider and compared with a float64 reference.</summary>
/// <param name="Provider">The execution provider ("CPU", "CUDA").</param>
/// <param name="MaxAbsoluteError">Largest |provider - reference| over every output.</param>
/// <param name="MaxRelativeError">That error over the largest |reference|.</param>
/// <param name="Tolerance">The largest accepted relative error.</param>
internal sealed record ParityResult(string Provider, double MaxAbsoluteError, double MaxRelativeError, double Tolerance)
{
    /// <summary>Whether the provider agrees with the reference within the tolerance.</summary>
    public bool Passed => MaxRelativeError <= Tolerance;

    /// <summary>
    /// Compares <paramref name="actual"/> with <paramref name="expected"/>: max |a - b|, and that over the
    /// largest |expected| (the absolute error when every expected value is 0). A NaN or a length mismatch
    /// counts as an infinite error.
    /// </summary>
    /// <param name="provider">What produced <paramref name="actual"/>.</param>
    /// <param name="actual">The outputs compared.</param>
    /// <param name="expected">The reference outputs, in the same order.</param>
    /// <param name="tolerance">The largest accepted relative error.</param>
    public static ParityResult Measure(string provider, IReadOnlyList<float> actual, IReadOnlyList<double> expected, double tolerance)
    {
        ArgumentNullException.ThrowIfNull(actual);
        ArgumentNullException.ThrowIfNull(expected);
        if (actual.Count != expected.Count)
        {
            return new ParityResult(provider, double.PositiveInfinity, double.PositiveInfinity, tolerance);
        }
        double worst = 0, scale = 0;
        for (int i = 0; i < expected.Count; i++)
        {
            double d = Math.Abs(actual[i] - expected[i]);
            worst = double.IsNaN(d) ? double.PositiveInfinity : Math.Max(worst, d);
            scale = Math.Max(scale, Math.Abs(expected[i]));
        }
        return new ParityResult(provider, worst, scale == 0 ? worst : worst / scale, tolerance);
    }
}
