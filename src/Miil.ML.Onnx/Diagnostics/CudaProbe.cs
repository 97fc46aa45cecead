namespace Miil.ML.Onnx.Diagnostics;

/// <summary>The NVIDIA driver, the devices it sees, and each library ONNX Runtime's CUDA provider needs.</summary>
internal sealed class CudaProbe : IDoctorProbe
{
    public const string Area = "CUDA";

    public void Examine(DoctorReport report, DoctorOptions options)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
        {
            report.Add(Area, "CUDA", "CUDA runs on Linux and Windows only", DoctorStatus.Info);
            return;
        }
        report.CudaLibrariesReady = ExamineDriver(report, options) & ExamineLibraries(report);
    }

    private static bool ExamineDriver(DoctorReport report, DoctorOptions options)
    {
        CudaDriver? driver = CudaDriver.TryOpen(out string? error);
        if (driver is null)
        {
            report.Add(Area, CudaDriver.LibraryName, $"not found: no NVIDIA driver ({FirstLine(error)})", DoctorStatus.Problem,
                CudaRequirements.FixFor(CudaDriver.LibraryName) + " Without a GPU, everything runs on the CPU.");
            return false;
        }
        string module = CudaDriver.KernelModuleVersion() is { } v ? $"kernel module {v}, " : "";
        int? cuda = driver.CudaVersion(out int status);
        if (cuda is not int version)
        {
            report.Add(Area, "driver", $"{module}cuDriverGetVersion failed (CUDA error {status})", DoctorStatus.Problem, "Reinstall the NVIDIA driver.");
            return false;
        }
        bool recent = version / 1000 >= CudaRequirements.CudaMajor;
        report.Add(Area, "driver", $"{module}supports CUDA up to {version / 1000}.{version % 1000 / 10}",
            recent ? DoctorStatus.Ok : DoctorStatus.Problem,
            recent ? null : $"ONNX Runtime {CudaRequirements.OnnxRuntimeVersion}'s CUDA provider needs CUDA {CudaRequirements.CudaMajor}: update the driver to the {CudaRequirements.MinimumDriverBranch} branch or newer.");
        int init = driver.Initialise();
        if (init != 0)
        {
            report.Add(Area, "devices", init == 100 ? "the driver sees no CUDA device (error 100)" : $"cuInit failed (CUDA error {init})", DoctorStatus.Problem,
                init == 100 ? "Check that the GPU is visible here (nvidia-smi; in a container, --gpus all; CUDA_VISIBLE_DEVICES)." : "Check nvidia-smi; a driver/kernel module mismatch needs a reboot.");
            return false;
        }
        IReadOnlyList<CudaDevice> devices = driver.Devices();
        foreach (CudaDevice d in devices)
        {
            report.Add(Area, $"device {d.Ordinal}", $"{d.Name}, {d.MemoryBytes / (1024.0 * 1024 * 1024):0.#} GiB, compute capability {d.ComputeCapability}", DoctorStatus.Ok);
        }
        if (options.GpuDeviceId >= devices.Count)
        {
            report.Add(Area, "GpuDeviceId", $"device {options.GpuDeviceId} asked for, {devices.Count} visible", DoctorStatus.Problem,
                $"Set GpuDeviceId to 0..{devices.Count - 1} (CUDA_VISIBLE_DEVICES renumbers devices).");
            return false;
        }
        return recent;
    }

    private static bool ExamineLibraries(DoctorReport report)
    {
        IEnumerable<string> needed;
        if (OperatingSystem.IsWindows())
        {
            needed = CudaRequirements.Windows;
        }
        else
        {
            string? provider = report.CudaProviderLibrary;
            IReadOnlyList<string> linked = CudaRequirements.LinuxLinked;
            if (provider is not null)
            {
                try
                {
                    linked = Miil.Build.ElfFile.Needed(provider);
                }
                catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
                {
                    report.Add(Area, "provider library", $"{provider} cannot be read ({e.Message}); checking the usual CUDA {CudaRequirements.CudaMajor} names", DoctorStatus.Warning);
                }
            }
            needed = linked.Where(n => !CudaRequirements.IsSystemLibrary(n) && n != CudaDriver.LibraryName).Concat(CudaRequirements.LinuxOpenedAtRunTime);
        }
        bool all = true;
        foreach (string library in needed.Distinct(StringComparer.Ordinal))
        {
            string? path = NativeLibraries.TryLoad(library, out string? error);
            if (path is null)
            {
                all = false;
                report.Add(Area, library, $"missing ({FirstLine(error)})", DoctorStatus.Problem, CudaRequirements.FixFor(library));
            }
            else
            {
                report.Add(Area, library, path, DoctorStatus.Ok);
            }
        }
        return all;
    }

    /// <summary>
    /// The dynamic loader's own reason ("cannot open shared object file", "undefined symbol", "version ... not
    /// found") out of .NET's long message, or its first line.
    /// </summary>
    internal static string FirstLine(string? error)
    {
        if (string.IsNullOrEmpty(error))
        {
            return "no reason given";
        }
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string line = lines.FirstOrDefault(l => l.Contains("cannot open shared object", StringComparison.Ordinal)
            || l.Contains("undefined symbol", StringComparison.Ordinal) || l.Contains("not found", StringComparison.Ordinal)) ?? lines[0];
        return line.Length > 240 ? line[..240] + "..." : line;
    }
}
