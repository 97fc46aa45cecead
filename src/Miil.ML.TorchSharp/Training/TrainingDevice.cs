using Microsoft.ML;
using TorchSharp;
using static TorchSharp.torch;

namespace Miil.ML.TorchSharp.Training;

/// <summary>The device of a run, from <c>MLContext.GpuDeviceId</c> and <c>FallbackToCpu</c>, as ML.NET's own GPU trainers read them.</summary>
internal static class TrainingDevice
{
    public static Device Choose(MLContext context, string source)
    {
        if (context.GpuDeviceId is not int id)
        {
            return CPU;
        }
        string? problem = !cuda.is_available() ? "CUDA is not available to TorchSharp (the application references TorchSharp-cpu, or no driver/GPU is present)"
            : id < 0 || id >= cuda.device_count() ? $"there is no CUDA device {id} ({cuda.device_count()} present)"
            : null;
        if (problem is null)
        {
            return new Device(DeviceType.CUDA, id);
        }
        if (!context.FallbackToCpu)
        {
            throw new InvalidOperationException($"MLContext.GpuDeviceId is {id} but {problem}; set MLContext.FallbackToCpu = true to train on the CPU instead.");
        }
        ContextLog.Warning(context, source, $"Training on the CPU: MLContext.GpuDeviceId is {id} but {problem}.");
        return CPU;
    }
}
