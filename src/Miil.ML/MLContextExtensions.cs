using System.Runtime.CompilerServices;
using Microsoft.ML;

namespace Miil.ML;

/// <summary>Adds <see cref="MultiLabel(MLContext)"/> to <see cref="MLContext"/>.</summary>
public static class MLContextExtensions
{
    private static readonly ConditionalWeakTable<MLContext, MultiLabelCatalog> Catalogs = new();

    /// <summary>
    /// The multi-label catalog of this context: one instance per <see cref="MLContext"/>, like the
    /// context's own catalogs.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="mlContext"/> is null.</exception>
    public static MultiLabelCatalog MultiLabel(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        return Catalogs.GetValue(mlContext, static c => new MultiLabelCatalog(c));
    }
}
