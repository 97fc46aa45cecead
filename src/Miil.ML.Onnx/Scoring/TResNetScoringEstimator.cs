using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>Creates a <see cref="TResNetScoringTransformer"/> (fitting learns nothing: it checks the image column and opens the model).</summary>
public sealed class TResNetScoringEstimator : IEstimator<TResNetScoringTransformer>
{
    private readonly MLContext _context;
    private readonly byte[] _model;
    private readonly string _source;
    private readonly TResNetOnnxModel _description;

    internal TResNetScoringEstimator(MLContext context, byte[] model, string source, TResNetScoringOptions options)
    {
        options.Validate();
        _context = context;
        _model = model;
        _source = source;
        Options = options;
        _description = TResNetOnnxModel.Read(model, source);
    }

    /// <summary>The options.</summary>
    public TResNetScoringOptions Options { get; }

    /// <inheritdoc />
    public TResNetScoringTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool fromPaths = TResNetScoringTransformer.CheckImageColumn(input.Schema, Options.ImageColumnName);
        var scorer = new TResNetBatchScorer(_context, _model, Options.ImageFolder,
            Options.GpuDeviceId ?? _context.GpuDeviceId, Options.FallbackToCpu ?? _context.FallbackToCpu, _source)
        {
            SkipUnreadableImages = Options.SkipUnreadableImages,
        };
        try
        {
            ITransformer stock = StockChain(fromPaths).Fit(input);
            return new TResNetScoringTransformer(scorer, stock, Options);
        }
        catch
        {
            scorer.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        return StockChain(ImageColumns.IsPaths(inputSchema, Options.ImageColumnName, "ScoreTResNet")).GetOutputSchema(inputSchema);
    }

    /// <summary>What a saved model holds: the stock transforms that compute the same columns row by row.</summary>
    private IEstimator<ITransformer> StockChain(bool fromPaths)
        => ImagePreprocessor.Chain(_context, Options.ImageFolder, _description.ImageSize, Options.ImageColumnName, TResNetOnnxModel.InputName, fromPaths)
            .Append(_context.Transforms.ApplyOnnxModel(
                [Options.ScoreColumnName, Options.PredictedLabelsColumnName],
                [TResNetOnnxModel.InputName],
                new MemoryStream(_model),
                Options.GpuDeviceId ?? _context.GpuDeviceId,
                Options.FallbackToCpu ?? _context.FallbackToCpu))
            .Append(_context.Transforms.DropColumns(TResNetOnnxModel.InputName));
}
