namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// What ONNX Runtime's CUDA provider needs, for the ONNX Runtime this build references (1.31 and 1.32:
/// CUDA 13, cuDNN 9; the provider library of 1.32 links the same five libraries as 1.31's). The provider library's own DT_NEEDED list is preferred when the file is found; these are
/// the fallback and the libraries it opens at run time rather than links.
/// </summary>
internal static class CudaRequirements
{
    /// <summary>The version of the ONNX Runtime managed API this process loaded (what messages name), e.g. "1.32.0".</summary>
    public static string OnnxRuntimeVersion { get; } = typeof(Microsoft.ML.OnnxRuntime.InferenceSession).Assembly.GetName().Version?.ToString(3) ?? "unknown";

    /// <summary>The CUDA major version the GPU package of <see cref="OnnxRuntimeVersion"/> is built against.</summary>
    public const int CudaMajor = 13;

    /// <summary>The oldest Linux driver branch that runs CUDA 13 (NVIDIA's CUDA 13.0 release notes: 580).</summary>
    public const int MinimumDriverBranch = 580;

    /// <summary>What the provider links on Linux when its file cannot be read.</summary>
    public static readonly string[] LinuxLinked = { "libcublasLt.so.13", "libcublas.so.13", "libcurand.so.10", "libcudart.so.13", "libcuda.so.1" };

    /// <summary>Opened by the provider when a session starts (not in DT_NEEDED).</summary>
    public static readonly string[] LinuxOpenedAtRunTime = { "libcudnn.so.9" };

    /// <summary>The Windows names of the same libraries.</summary>
    public static readonly string[] Windows = { "cublasLt64_13.dll", "cublas64_13.dll", "curand64_10.dll", "cudart64_13.dll", "cudnn64_9.dll" };

    /// <summary>Libraries of the C and C++ runtimes: present everywhere, never reported.</summary>
    public static bool IsSystemLibrary(string name) =>
        name.StartsWith("libc.", StringComparison.Ordinal) || name.StartsWith("libm.", StringComparison.Ordinal)
        || name.StartsWith("libdl.", StringComparison.Ordinal) || name.StartsWith("librt.", StringComparison.Ordinal)
        || name.StartsWith("libpthread.", StringComparison.Ordinal) || name.StartsWith("libstdc++.", StringComparison.Ordinal)
        || name.StartsWith("libgcc_s.", StringComparison.Ordinal) || name.StartsWith("ld-linux", StringComparison.Ordinal);

    /// <summary>What to install for a missing library, by its name.</summary>
    public static string FixFor(string library)
    {
        string l = library.ToLowerInvariant();
        string what =
            l.StartsWith("libcuda.", StringComparison.Ordinal) || l == "nvcuda.dll"
                ? $"the NVIDIA driver ({MinimumDriverBranch} or newer for CUDA {CudaMajor}); in a container, start it with the NVIDIA Container Toolkit (docker run --gpus all)"
            : l.Contains("cudnn", StringComparison.Ordinal) ? $"cuDNN 9 for CUDA {CudaMajor} (package cudnn9-cuda-{CudaMajor}, or pip install nvidia-cudnn-cu{CudaMajor})"
            : l.Contains("cublas", StringComparison.Ordinal) ? $"cuBLAS of CUDA {CudaMajor} (package libcublas-{CudaMajor}-0, or pip install nvidia-cublas)"
            : l.Contains("curand", StringComparison.Ordinal) ? $"cuRAND of CUDA {CudaMajor} (package libcurand-{CudaMajor}-0, or pip install nvidia-curand)"
            : l.Contains("cudart", StringComparison.Ordinal) ? $"the CUDA {CudaMajor} runtime (package cuda-cudart-{CudaMajor}-0, or pip install nvidia-cuda-runtime)"
            : $"the library from the CUDA {CudaMajor} toolkit";
        return $"Install {what}, and make {library} findable: its folder in LD_LIBRARY_PATH (Windows: PATH), or registered with ldconfig.";
    }
}
