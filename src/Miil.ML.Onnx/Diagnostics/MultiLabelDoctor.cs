namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// The GPU doctor: why Miil.ML does or does not use the GPU here. Examines the system (OS, glibc,
/// libstdc++, .NET, CPU features), ONNX Runtime (version, execution providers), CUDA (driver, devices,
/// every library the CUDA provider needs), whether the CUDA provider really opens a session, libtorch
/// when Miil.ML.TorchSharp is in the application, and scores a tiny built-in model on each usable
/// provider against a float64 reference. Also <c>mlContext.MultiLabel().Doctor()</c>.
/// </summary>
internal static class MultiLabelDoctor
{
    private static readonly List<IDoctorProbe> s_registered = [];

    /// <summary>
    /// Adds a probe of another package of this library (Miil.ML.TorchSharp registers its libtorch probe
    /// when its assembly loads), so that the dependency points the usual way and a scoring-only
    /// application carries no libtorch. A probe of the same type is registered once.
    /// </summary>
    internal static void Register(IDoctorProbe probe)
    {
        lock (s_registered)
        {
            if (!s_registered.Any(p => p.GetType() == probe.GetType()))
            {
                s_registered.Add(probe);
            }
        }
    }

    /// <summary>Runs every probe and returns what they found. Never throws for a missing library: that is a finding.</summary>
    /// <param name="options">Device, parity check and extra probes; default: device 0, parity on, libtorch when present.</param>
    public static DoctorReport Examine(DoctorOptions? options = null)
    {
        options ??= new DoctorOptions();
        options.Validate();
        var report = new DoctorReport();
        foreach (IDoctorProbe probe in Probes(options))
        {
            try
            {
                probe.Examine(report, options);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                report.Add("Doctor", probe.GetType().Name, $"stopped: {e.GetType().Name}: {CudaProbe.FirstLine(e.Message)}", DoctorStatus.Warning,
                    "The other sections are complete; please report this with the text above.");
            }
        }
        return report;
    }

    private static IEnumerable<IDoctorProbe> Probes(DoctorOptions options)
    {
        yield return new SystemProbe();
        yield return new OnnxRuntimeProbe();
        yield return new CudaProbe();
        yield return new CudaProviderProbe();
        IDoctorProbe[] registered;
        lock (s_registered)
        {
            registered = [.. s_registered];
        }
        if (options.ExamineTorchSharp)
        {
            foreach (IDoctorProbe probe in registered)
            {
                yield return probe;
            }
        }
        yield return new ParityProbe();
        foreach (IDoctorProbe probe in options.Probes)
        {
            yield return probe;
        }
    }
}
