using Microsoft.ML.OnnxRuntime;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// The ONNX Runtime session of a scorer, shared by concurrent calls and safe to close while they run:
/// <see cref="Close"/> releases the native session once the calls in flight have finished, and the next
/// call opens it again. ML.NET's PredictionEngine disposes the transformer it was made from when the
/// engine is disposed (its default <c>OwnsTransformer</c>); an engine per thread, each disposed after
/// use, must not pull the session from under the others, let alone free it during a run.
/// </summary>
internal sealed class SharedSession(Func<OnnxSession> open) : IDisposable
{
    private readonly object _gate = new();
    private OnnxSession? _session;
    private RunOptions? _runOptions;
    private int _inFlight;
    private bool _closeWhenIdle;
    private OnnxDevice? _device;

    /// <summary>Where the session computes (opening it if needed).</summary>
    public OnnxDevice Device
    {
        get
        {
            if (_device is OnnxDevice device)
            {
                return device;
            }
            using Lease lease = Acquire();
            return lease.Session.Device;
        }
    }

    /// <summary>The open session for one call; dispose the lease when the call is done.</summary>
    public Lease Acquire()
    {
        lock (_gate)
        {
            if (_session is null)
            {
                _session = open();
                _runOptions = new RunOptions();
                _device = _session.Device;
            }
            _inFlight++;
            return new Lease(this, _session, _runOptions!);
        }
    }

    /// <summary>Releases the native session now, or when the calls in flight end; a later call reopens it.</summary>
    public void Close()
    {
        (OnnxSession?, RunOptions?) closing = (null, null);
        lock (_gate)
        {
            if (_inFlight == 0)
            {
                closing = Take();
            }
            else
            {
                _closeWhenIdle = true;
            }
        }
        Dispose(closing);
    }

    /// <inheritdoc />
    public void Dispose() => Close();

    private void Release()
    {
        (OnnxSession?, RunOptions?) closing = (null, null);
        lock (_gate)
        {
            if (--_inFlight == 0 && _closeWhenIdle)
            {
                _closeWhenIdle = false;
                closing = Take();
            }
        }
        Dispose(closing);
    }

    private (OnnxSession?, RunOptions?) Take()
    {
        (OnnxSession?, RunOptions?) taken = (_session, _runOptions);
        (_session, _runOptions) = (null, null);
        return taken;
    }

    private static void Dispose((OnnxSession? Session, RunOptions? RunOptions) closing)
    {
        closing.Session?.Dispose();
        closing.RunOptions?.Dispose();
    }

    /// <summary>One call's hold on the session.</summary>
    internal readonly struct Lease(SharedSession owner, OnnxSession session, RunOptions runOptions) : IDisposable
    {
        public OnnxSession Session { get; } = session;

        /// <summary>Run options that live as long as the session (ONNX Runtime only reads them during a run).</summary>
        public RunOptions RunOptions { get; } = runOptions;

        public void Dispose() => owner.Release();
    }
}
