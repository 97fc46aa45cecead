using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Miil.ML;

/// <summary>
/// Messages through <see cref="MLContext.Log"/>, the way ML.NET's own components report: a host
/// registered under the component's name, a channel per message. Public for the packages that extend
/// <see cref="MultiLabelCatalog"/>, so that every component logs the same way.
/// </summary>
internal static class ContextLog
{
    /// <summary>Reports a warning from <paramref name="source"/> to the context's log.</summary>
    public static void Warning(MLContext mlContext, string source, string message)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        using IChannel channel = ((IHostEnvironment)mlContext).Register(source).Start(source);
        channel.Warning(MessageSensitivity.None, message);
    }

    /// <summary>Reports information from <paramref name="source"/> to the context's log.</summary>
    public static void Info(MLContext mlContext, string source, string message)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        using IChannel channel = ((IHostEnvironment)mlContext).Register(source).Start(source);
        channel.Info(MessageSensitivity.None, message);
    }
}
