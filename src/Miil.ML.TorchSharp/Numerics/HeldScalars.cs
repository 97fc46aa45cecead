using TorchSharp;

namespace Miil.ML.TorchSharp.Numerics;

/// <summary>
/// Scalars by value, all alive until this set is disposed: a computation takes its constants from
/// one set held by a <c>using</c>, so no Scalar can be collected during a native call (see
/// <see cref="Scalars"/>).
/// </summary>
internal sealed class HeldScalars : IDisposable
{
    private readonly Dictionary<double, Scalar> _held = [];

    public Scalar this[double value]
    {
        get
        {
            if (!_held.TryGetValue(value, out Scalar? scalar))
            {
                scalar = value.ToScalar();
                _held[value] = scalar;
            }
            return scalar;
        }
    }

    public void Dispose()
    {
        foreach (Scalar scalar in _held.Values)
        {
            scalar.Dispose();
        }
        _held.Clear();
    }
}
