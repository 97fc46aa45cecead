using System.Runtime.InteropServices;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>The operating system, C and C++ runtimes, .NET and the CPU features that matter to Miil.ML.</summary>
internal sealed class SystemProbe : IDoctorProbe
{
    public const string Area = "System";

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate IntPtr GnuGetLibcVersion();

    public void Examine(DoctorReport report, DoctorOptions options)
    {
        report.Add(Area, "OS", OsName(), DoctorStatus.Info);
        report.Add(Area, ".NET", $"{RuntimeInformation.FrameworkDescription} ({RuntimeInformation.ProcessArchitecture}, {Environment.ProcessorCount} logical cores)", DoctorStatus.Info);
        if (OperatingSystem.IsLinux())
        {
            string? glibc = GlibcVersion();
            if (glibc is null)
            {
                report.Add(Area, "glibc", "not found (musl?): the linux-x64 natives of TorchSharp and ONNX Runtime need glibc", DoctorStatus.Problem,
                    "Run on a glibc distribution (Debian, Ubuntu, RHEL) or in such a container.");
            }
            else
            {
                report.Add(Area, "glibc", glibc, DoctorStatus.Info);
            }
            string? libstdcxx = NativeLibraries.MappedPath("libstdc++.so");
            if (libstdcxx is null)
            {
                report.Add(Area, "libstdc++", "not loaded in this process", DoctorStatus.Info);
            }
            else
            {
                int? minor = NativeLibraries.HighestGlibCxxMinor(libstdcxx);
                report.Add(Area, "libstdc++", minor is int m ? $"{libstdcxx} (up to GLIBCXX_3.4.{m})" : libstdcxx, DoctorStatus.Info);
            }
        }
        string cpu = CpuFeatures.ModelName() ?? RuntimeInformation.ProcessArchitecture.ToString();
        string features = string.Join(", ", new[]
        {
            CpuFeatures.Avx2 ? "AVX2" : null,
            CpuFeatures.Avx512 ? "AVX-512" : null,
            CpuFeatures.BFloat16Instructions,
        }.Where(f => f is not null));
        report.Add(Area, "CPU", $"{cpu}: {(features.Length == 0 ? "no AVX2, AVX-512 or bfloat16" : features)}", DoctorStatus.Info);
        if (CpuFeatures.BFloat16Instructions is null)
        {
            report.Add(Area, "bfloat16", "no bfloat16 instructions: Precision = BFloat16 falls back to float32", DoctorStatus.Warning,
                "Train in float32 here (the default), or on a CPU with AVX512_BF16/AMX or a GPU for mixed precision.");
        }
        else
        {
            report.Add(Area, "bfloat16", $"{CpuFeatures.BFloat16Instructions}: mixed-precision training can run in hardware", DoctorStatus.Ok);
        }
    }

    private static string OsName()
    {
        const string release = "/etc/os-release";
        string? pretty = File.Exists(release)
            ? File.ReadLines(release).FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))?["PRETTY_NAME=".Length..].Trim('"')
            : null;
        string kernel = $"{(OperatingSystem.IsLinux() ? "Linux" : Environment.OSVersion.Platform.ToString())} {Environment.OSVersion.Version}";
        return $"{pretty ?? RuntimeInformation.OSDescription}, {kernel}";
    }

    /// <summary>glibc's own answer (gnu_get_libc_version), or null on another C library.</summary>
    internal static string? GlibcVersion()
    {
        if (!NativeLibrary.TryLoad("libc.so.6", out IntPtr libc))
        {
            return null;
        }
        try
        {
            return NativeLibrary.TryGetExport(libc, "gnu_get_libc_version", out IntPtr f)
                ? Marshal.PtrToStringAnsi(Marshal.GetDelegateForFunctionPointer<GnuGetLibcVersion>(f)())
                : null;
        }
        finally
        {
            NativeLibrary.Free(libc);
        }
    }
}
