using Microsoft.ML.OnnxRuntime;

namespace GpuCheck;

/// <summary>An execution provider with the settings a row of the table ran under.</summary>
internal sealed record Provider(string Name, bool Cuda, bool Tf32, int Device)
{
    public static Provider Cpu { get; } = new("CPU", false, false, 0);

    /// <summary>CUDA with float32 products in full float32 (the parity setting) or ONNX Runtime's default TF32.</summary>
    public static Provider CudaOn(int device, bool tf32) => new(tf32 ? "CUDA (TF32)" : "CUDA", true, tf32, device);

    /// <summary>Where IO binding leaves outputs: on the GPU for CUDA, in host memory for CPU. A new instance the caller disposes.</summary>
    public OrtMemoryInfo OutputMemory() => Cuda
        ? new OrtMemoryInfo(OrtMemoryInfo.allocatorCUDA, OrtAllocatorType.DeviceAllocator, Device, OrtMemType.Default)
        : new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);

    /// <summary>A session of <paramref name="model"/> on this provider.</summary>
    public InferenceSession Open(byte[] model)
    {
        using var options = new SessionOptions();
        if (Cuda)
        {
            using var cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = Device.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["use_tf32"] = Tf32 ? "1" : "0",
            });
            options.AppendExecutionProvider_CUDA(cuda);
        }
        return new InferenceSession(model, options);
    }
}
