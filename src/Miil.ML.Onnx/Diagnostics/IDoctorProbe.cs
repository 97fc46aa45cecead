namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// One part of the doctor's examination. The built-in probes look at the system, CUDA, ONNX Runtime
/// and a parity check; Miil.ML.TorchSharp adds libtorch's when it is in the application. Add your own
/// through <see cref="DoctorOptions.Probes"/>.
/// </summary>
internal interface IDoctorProbe
{
    /// <summary>Examines its part and adds findings to <paramref name="report"/>. Must not throw for a missing library: report it.</summary>
    /// <param name="report">The report being written; earlier probes' findings are already in it.</param>
    /// <param name="options">The doctor's options.</param>
    void Examine(DoctorReport report, DoctorOptions options);
}
