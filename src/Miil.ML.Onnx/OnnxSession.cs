using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx;

/// <summary>An ONNX Runtime session with the device it runs on. Dispose it to release native memory.</summary>
internal sealed class OnnxSession : IDisposable
{
    private readonly SessionOptions _options;

    internal OnnxSession(InferenceSession session, OnnxDevice device, SessionOptions options)
    {
        Session = session;
        Device = device;
        _options = options;
    }

    /// <summary>The ONNX Runtime session.</summary>
    public InferenceSession Session { get; }

    /// <summary>Where the session computes.</summary>
    public OnnxDevice Device { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        Session.Dispose();
        _options.Dispose();
    }
}
