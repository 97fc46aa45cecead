using Microsoft.ML;
using Miil.ML.Onnx.Serving;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers Miil.ML's scoring in an application's services (ASP.NET Core and the generic host).</summary>
public static class ScoringServiceCollectionExtensions
{
    /// <summary>
    /// Adds a singleton <see cref="MultiLabelScoringService"/> (micro-batched, thread-safe, optionally
    /// reloading its model), created on first use and disposed with the container. An
    /// <see cref="MLContext"/> registered in the services is used for its log; otherwise a new one.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="options">The model file, batch size, delay, queue, device, reload.</param>
    public static IServiceCollection AddMultiLabelScoring(this IServiceCollection services, MultiLabelScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return services.AddSingleton(provider => new MultiLabelScoringService(options, provider.GetService(typeof(MLContext)) as MLContext));
    }
}
