namespace Miil.ML.Onnx;

/// <summary>Where an ONNX Runtime session computes.</summary>
public enum OnnxDevice
{
    /// <summary>ONNX Runtime's CPU execution provider.</summary>
    Cpu,

    /// <summary>ONNX Runtime's CUDA execution provider (NVIDIA GPU).</summary>
    Cuda,
}
