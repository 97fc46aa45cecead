using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>ONNX Runtime: which native build loaded, its version and execution providers, and where the CUDA provider library is.</summary>
internal sealed class OnnxRuntimeProbe : IDoctorProbe
{
    public const string Area = "ONNX Runtime";
    public const string CudaProvider = "CUDAExecutionProvider";

    public void Examine(DoctorReport report, DoctorOptions options)
    {
        OrtEnv env;
        try
        {
            env = OrtEnv.Instance();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or OnnxRuntimeException)
        {
            report.Add(Area, "native library", $"does not load: {CudaProbe.FirstLine((e.InnerException ?? e).Message)}", DoctorStatus.Problem,
                $"Reference Microsoft.ML.OnnxRuntime.Gpu (or Microsoft.ML.OnnxRuntime for CPU only) {CudaRequirements.OnnxRuntimeVersion} in the application, so that its natives are copied beside it.");
            return;
        }
        string? native = NativeLibraries.MappedPath(OperatingSystem.IsWindows() ? "onnxruntime.dll" : "libonnxruntime.so");
        report.Add(Area, "version", $"{env.GetVersionString()}{(native is null ? "" : $" ({native})")}", DoctorStatus.Info);
        string[] providers = env.GetAvailableProviders();
        report.Add(Area, "providers", string.Join(", ", providers), DoctorStatus.Info);
        report.CudaProviderListed = providers.Contains(CudaProvider);
        if (!report.CudaProviderListed)
        {
            report.Add(Area, "CUDA provider", "not in this build: the application carries the CPU-only ONNX Runtime", DoctorStatus.Problem,
                $"Reference Microsoft.ML.OnnxRuntime.Gpu {CudaRequirements.OnnxRuntimeVersion} instead of Microsoft.ML.OnnxRuntime (Miil.ML.Onnx itself references the managed API only).");
            return;
        }
        string providerFile = OperatingSystem.IsWindows() ? "onnxruntime_providers_cuda.dll" : "libonnxruntime_providers_cuda.so";
        string? folder = native is null ? null : Path.GetDirectoryName(native);
        string? path = new[] { folder, AppContext.BaseDirectory, Path.Combine(AppContext.BaseDirectory, "runtimes", OperatingSystem.IsWindows() ? "win-x64" : "linux-x64", "native") }
            .Where(d => d is not null).Select(d => Path.Combine(d!, providerFile)).FirstOrDefault(File.Exists);
        if (path is null)
        {
            report.Add(Area, "CUDA provider", $"{providerFile} is not beside ONNX Runtime ({folder ?? AppContext.BaseDirectory})", DoctorStatus.Problem,
                "Publish or copy the whole runtimes/<rid>/native folder of Microsoft.ML.OnnxRuntime.Gpu with the application.");
            return;
        }
        report.CudaProviderLibrary = path;
        report.Add(Area, "CUDA provider library", path, DoctorStatus.Ok);
    }
}
