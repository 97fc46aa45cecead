using Miil.ML.Onnx.Diagnostics;
using TorchSharp;

namespace Miil.ML.TorchSharp.Diagnostics;

/// <summary>
/// The doctor's training side: which libtorch TorchSharp loaded (CPU or CUDA build), whether CUDA is
/// available to it and on how many devices, and whether the libstdc++ compatibility step let its native
/// glue load. Registered with the doctor when this assembly loads (<see cref="Register"/>), so that the
/// doctor, in Miil.ML.Onnx, needs no reference to libtorch.
/// </summary>
internal sealed class TorchSharpDoctorProbe : IDoctorProbe
{
    /// <summary>Runs when the assembly loads: any use of Miil.ML.TorchSharp puts libtorch in the doctor's report.</summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    [System.Diagnostics.CodeAnalysis.SuppressMessage("Usage", "CA2255", Justification = "The one way a library can announce itself to another without being named: the doctor cannot reference this assembly.")]
    internal static void Register() => MultiLabelDoctor.Register(new TorchSharpDoctorProbe());

    /// <summary>The area its findings are filed under.</summary>
    public const string Area = "TorchSharp";

    /// <summary>The libstdc++ version TorchSharp 0.107's glue library names (and, per its symbols, never uses).</summary>
    private const int GlueGlibCxxMinor = 32;

    /// <inheritdoc />
    public void Examine(DoctorReport report, DoctorOptions options)
    {
        ArgumentNullException.ThrowIfNull(report);
        string version = typeof(torch).Assembly.GetName().Version?.ToString(3) ?? "unknown";
        bool cuda;
        try
        {
            cuda = torch.cuda.is_available();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or NotSupportedException or EntryPointNotFoundException)
        {
            string why = Innermost(e).Message;
            bool libstdcxx = why.Contains("GLIBCXX", StringComparison.Ordinal);
            report.Add(new DoctorFinding(Area, "libtorch", $"TorchSharp {version}: native libraries do not load ({FirstLines(why)})", DoctorStatus.Problem,
                libstdcxx
                    ? "The libstdc++ compatibility step did not run on this build: reference Miil.ML.TorchSharp from the application and build it (not copy it); see docs/troubleshooting.md."
                    : "Reference TorchSharp-cpu (or TorchSharp-cuda-linux / -windows) 0.107.0 in the application so that libtorch is copied beside it."));
            return;
        }
        string? cudaBuild = MappedPath("libtorch_cuda");
        string? cpuBuild = MappedPath("libtorch_cpu");
        string build = cudaBuild is not null ? $"CUDA build ({cudaBuild})" : cpuBuild is not null ? $"CPU build ({cpuBuild})" : "loaded";
        report.Add(new DoctorFinding(Area, "libtorch", $"TorchSharp {version}, {build}", DoctorStatus.Info));
        ExamineLibStdCxx(report);
        if (cuda)
        {
            int devices = torch.cuda.device_count();
            report.CudaTrainingAvailable = options.GpuDeviceId < devices;
            report.Add(new DoctorFinding(Area, "CUDA", $"available, {devices} device(s)", report.CudaTrainingAvailable ? DoctorStatus.Ok : DoctorStatus.Problem,
                report.CudaTrainingAvailable ? null : $"GpuDeviceId {options.GpuDeviceId} is beyond the {devices} device(s) libtorch sees."));
        }
        else if (cudaBuild is null)
        {
            report.Add(new DoctorFinding(Area, "CUDA", "not available: the application carries the CPU-only libtorch (TorchSharp-cpu), so training runs on the CPU", DoctorStatus.Problem,
                "For GPU training reference TorchSharp-cuda-linux (or -windows) 0.107.0 instead of TorchSharp-cpu: it brings libtorch for CUDA 12.8, which needs a driver for CUDA 12.8 or newer."));
        }
        else
        {
            report.Add(new DoctorFinding(Area, "CUDA", "not available although libtorch is the CUDA build: no usable driver or device", DoctorStatus.Problem,
                "See the CUDA findings: the driver and a device must be visible to this process."));
        }
    }

    private static void ExamineLibStdCxx(DoctorReport report)
    {
        string? libstdcxx = MappedPath("libstdc++.so");
        if (libstdcxx is null || !OperatingSystem.IsLinux())
        {
            return;
        }
        int? highest = Onnx.Diagnostics.NativeLibraries.HighestGlibCxxMinor(libstdcxx);
        string value = highest is int h && h < GlueGlibCxxMinor
            ? $"applied: libLibTorchSharp.so names GLIBCXX_3.4.{GlueGlibCxxMinor}, this libstdc++ stops at 3.4.{h}, and it loaded"
            : "not needed: this libstdc++ has every version TorchSharp's glue names";
        report.Add(new DoctorFinding(Area, "libstdc++ compatibility", value, DoctorStatus.Ok));
    }

    private static string? MappedPath(string prefix) => Onnx.Diagnostics.NativeLibraries.MappedPath(prefix);

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    private static string FirstLines(string message)
    {
        string flat = string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return flat.Length > 300 ? flat[..300] + "..." : flat;
    }
}
