using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx;

/// <summary>
/// Opens ONNX Runtime sessions on the device an <see cref="MLContext"/> asks for: CUDA when
/// <see cref="MLContext.GpuDeviceId"/> is set and a GPU is usable, otherwise CPU with a warning
/// (<see cref="MLContext.FallbackToCpu"/> true) or a clear error (false).
/// </summary>
/// <remarks>
/// The CUDA provider needs the NVIDIA driver and the CUDA runtime the ONNX Runtime GPU package was
/// built for (CUDA 13 for ONNX Runtime 1.31 and 1.32). The driver is looked for before the provider is
/// asked, so a machine without one falls back without ONNX Runtime's own load error.
/// </remarks>
internal static class OnnxSessionFactory
{
    /// <summary>Opens a session on the device <paramref name="mlContext"/> asks for, logging a fallback to CPU there.</summary>
    /// <exception cref="InvalidOperationException">A GPU was asked for, none is usable, and the context does not allow CPU fallback.</exception>
    public static OnnxSession Create(MLContext mlContext, byte[] model)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return Create(model, mlContext.GpuDeviceId, mlContext.FallbackToCpu,
            warning => ContextLog.Warning(mlContext, nameof(OnnxSessionFactory), warning));
    }

    /// <summary>Opens a session for <paramref name="model"/> (ONNX bytes).</summary>
    /// <param name="model">The serialized ONNX model.</param>
    /// <param name="gpuDeviceId">The CUDA device to run on; null for CPU.</param>
    /// <param name="fallbackToCpu">Whether to run on CPU when the GPU cannot be used.</param>
    /// <param name="warn">Receives the reason when the session falls back to CPU.</param>
    /// <param name="intraOpThreads">Threads ONNX Runtime uses inside one run; null for its default (the cores).</param>
    /// <exception cref="InvalidOperationException">The GPU cannot be used and <paramref name="fallbackToCpu"/> is false, or the model is not valid ONNX.</exception>
    public static OnnxSession Create(byte[] model, int? gpuDeviceId, bool fallbackToCpu, Action<string>? warn = null, int? intraOpThreads = null)
    {
        if (intraOpThreads is int threads)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1, nameof(intraOpThreads));
        }
        ArgumentNullException.ThrowIfNull(model);
        if (gpuDeviceId is int device)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(device, nameof(gpuDeviceId));
            string? why = CudaUnavailableReason();
            if (why is null)
            {
                SessionOptions options = NewOptions(intraOpThreads);
                try
                {
                    options.AppendExecutionProvider_CUDA(device);
                    return new OnnxSession(Open(model, options), OnnxDevice.Cuda, options);
                }
                catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
                {
                    options.Dispose();
                    why = $"ONNX Runtime could not use CUDA device {device}: {e.Message}";
                }
            }
            if (!fallbackToCpu)
            {
                throw new InvalidOperationException(
                    $"GPU device {device} was requested but cannot be used ({why}). Set fallbackToCpu (MLContext.FallbackToCpu) to run on CPU instead.");
            }
            warn?.Invoke($"Running on CPU: GPU device {device} was requested but cannot be used ({why}).");
        }
        SessionOptions cpu = NewOptions(intraOpThreads);
        return new OnnxSession(Open(model, cpu), OnnxDevice.Cpu, cpu);
    }

    private static SessionOptions NewOptions(int? intraOpThreads)
    {
        var options = new SessionOptions();
        if (intraOpThreads is int threads)
        {
            options.IntraOpNumThreads = threads;
        }
        return options;
    }

    /// <summary>Null when the NVIDIA driver can be loaded; otherwise why not.</summary>
    internal static string? CudaUnavailableReason()
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsWindows())
        {
            return "CUDA is available on Linux and Windows only";
        }
        string driver = Diagnostics.CudaDriver.LibraryName;
        if (!NativeLibrary.TryLoad(driver, out IntPtr handle))
        {
            return $"no NVIDIA driver: {driver} not found";
        }
        NativeLibrary.Free(handle);
        return null;
    }

    private static InferenceSession Open(byte[] model, SessionOptions options)
    {
        try
        {
            return new InferenceSession(model, options);
        }
        catch (OnnxRuntimeException e) when (!e.Message.Contains("CUDA", StringComparison.OrdinalIgnoreCase))
        {
            options.Dispose();
            throw new InvalidOperationException($"The ONNX model ({model.Length} bytes) cannot be loaded: {e.Message}", e);
        }
    }
}
