using Microsoft.ML;
using Miil.ML.TorchSharp.Hub;
using Miil.ML.TorchSharp.Models;
using Miil.ML.TorchSharp.Models.TResNet;
using Miil.ML.TorchSharp.Pretrained;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// What Fit builds its network from: the architecture (given, or the named weights', or the default),
/// the starting weights (resolved, and downloaded if need be, once), and the image size the network
/// accepts. One place for the rules a trainer's options and a catalogue name must agree on.
/// </summary>
internal sealed class NetworkRecipe
{
    private readonly MLContext _context;
    private readonly TResNetAslOptions _options;
    private readonly PretrainedModel? _named;

    private NetworkRecipe(MLContext context, TResNetAslOptions options, NetworkArchitecture architecture, ClassifierHead head, PretrainedModel? named)
    {
        _context = context;
        _options = options;
        Architecture = architecture;
        Head = head;
        _named = named;
    }

    /// <summary>The architecture the run builds.</summary>
    public NetworkArchitecture Architecture { get; }

    /// <summary>The head the run builds: the options', or the named weights', or pooling.</summary>
    public ClassifierHead Head { get; }

    /// <summary>
    /// The architecture of the options, or of the named weights (as timm infers it from the name), or
    /// TResNet-M; refuses a mismatch and an image size the network cannot take, before anything is read.
    /// </summary>
    public static NetworkRecipe Resolve(MLContext context, TResNetAslOptions options)
    {
        PretrainedModel? named = options.PretrainedWeights is string reference ? PretrainedModels.Find(reference) : null;
        if (named is { Unsupported: string why })
        {
            throw new ArgumentException($"Pretrained weights '{named.Name}' cannot be built by this library: {why}", nameof(TResNetAslOptions.PretrainedWeights));
        }
        NetworkArchitecture architecture = (options.Architecture, named?.Architecture) switch
        {
            (NetworkArchitecture given, NetworkArchitecture published) when !given.Equals(published) => throw new ArgumentException(
                $"Pretrained weights '{named!.Name}' are a {published} but Architecture is {given}: leave Architecture unset (it follows the weights) or set the weights' (TResNetArchitecture.{named.Variant} for TResNet).",
                nameof(TResNetAslOptions.Architecture)),
            (NetworkArchitecture given, _) => given,
            (null, NetworkArchitecture published) => published,
            _ => TResNetArchitecture.M,
        };
        int multiple = architecture.InputSizeStep;
        if (options.ImageSize % multiple != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(TResNetAslOptions.ImageSize), options.ImageSize,
                $"ImageSize must be a multiple of {multiple} for {architecture.Family} (its space-to-depth stem takes {multiple} x {multiple} blocks).");
        }
        return new NetworkRecipe(context, options, architecture, options.Head ?? named?.Head ?? ClassifierHead.Pooling, named);
    }

    /// <summary>The local file of the starting weights (downloaded into the cache if need be); null for none.</summary>
    public string? ResolveWeights()
    {
        if (_options.PretrainedWeights is not string reference)
        {
            return null;
        }
        using var hub = new HubClient(_options.Hub, _context);
        (string path, PretrainedModel? resolved) = PretrainedWeightsSource.Resolve(reference, hub, _options.DownloadProgress);
        if ((resolved ?? _named) is { } entry && entry.ImageSize != _options.ImageSize)
        {
            ContextLog.Info(_context, _options.TrainerName, $"'{entry.Name}' was trained at {entry.ImageSize} px; fine-tuning at {_options.ImageSize} px.");
        }
        return path;
    }

    /// <summary>The network for <paramref name="classCount"/> classes with the starting weights loaded.</summary>
    public MultiLabelNetwork Create(int classCount, string? weights)
    {
        MultiLabelNetwork model = Architecture.Create(classCount, Head);
        if (weights is not null)
        {
            try
            {
                model.LoadWeights(weights);
                ContextLog.Info(_context, _options.TrainerName, $"Pretrained weights from '{_options.PretrainedWeights}' ({weights}) in {Architecture} with a {Head} head for {classCount} classes.");
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        return model;
    }
}
