using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>Whether ONNX Runtime's CUDA provider really opens a session on the chosen device, and ONNX Runtime's reason when not.</summary>
internal sealed class CudaProviderProbe : IDoctorProbe
{
    public void Examine(DoctorReport report, DoctorOptions options)
    {
        if (!report.CudaProviderListed)
        {
            return;
        }
        if (!report.CudaLibrariesReady)
        {
            report.Add(OnnxRuntimeProbe.Area, "CUDA provider", "not tried: the driver, a device or a library it needs is missing (see the CUDA section)", DoctorStatus.Problem,
                "Fix the CUDA section's problems; the provider is tried once every one of them is [ok].");
            return;
        }
        using InferenceSession? session = TryOpen(ParityModel.Build().Model, options.GpuDeviceId, tf32: false, out string? error);
        if (session is null)
        {
            report.Add(OnnxRuntimeProbe.Area, "CUDA provider", $"does not load: {error}", DoctorStatus.Problem,
                "The message names what ONNX Runtime could not load; a cuDNN or cuBLAS of another CUDA major version is the usual cause.");
            return;
        }
        report.CudaScoringAvailable = true;
        report.Add(OnnxRuntimeProbe.Area, "CUDA provider", $"opens a session on device {options.GpuDeviceId}", DoctorStatus.Ok);
    }

    /// <summary>
    /// A session of <paramref name="model"/> on CUDA device <paramref name="device"/>, or null with ONNX
    /// Runtime's reason. Safe where CUDA is absent: ONNX Runtime reports the failed load as an error.
    /// </summary>
    /// <param name="model">ONNX bytes.</param>
    /// <param name="device">The CUDA device.</param>
    /// <param name="tf32">Whether float32 matrix products may run in TF32 (ONNX Runtime's default on Ampere and later); off for parity.</param>
    /// <param name="error">Why no session opened.</param>
    internal static InferenceSession? TryOpen(byte[] model, int device, bool tf32, out string? error)
    {
        error = null;
        SessionOptions? options = null;
        OrtCUDAProviderOptions? cuda = null;
        try
        {
            cuda = new OrtCUDAProviderOptions();
            cuda.UpdateOptions(new Dictionary<string, string>
            {
                ["device_id"] = device.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["use_tf32"] = tf32 ? "1" : "0",
            });
            options = new SessionOptions();
            options.AppendExecutionProvider_CUDA(cuda);
            return new InferenceSession(model, options);
        }
        catch (Exception e) when (e is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException)
        {
            error = CudaProbe.FirstLine(e.Message);
            return null;
        }
        finally
        {
            options?.Dispose();
            cuda?.Dispose();
        }
    }
}
