using Microsoft.ML;
using Miil.ML;
using Miil.ML.Onnx;
using Miil.ML.Onnx.Diagnostics;

namespace DocSnippets;

/// <summary>docs/troubleshooting.md (the GPU doctor).</summary>
public static class Troubleshooting
{
    public static DoctorReport Doctor()
    {
        DoctorReport report = new MLContext().MultiLabel().Doctor();   // Miil.ML.Onnx.Diagnostics
        Console.WriteLine(report);              // readable; report.Problems, report.CudaScoringAvailable, report.Parity for code
        return report;
    }
}
