using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Images;
using Miil.ML.Onnx.Graphs;

namespace Miil.ML.Onnx.Scoring;

/// <summary>Creates an <see cref="ImageScoringTransformer"/> (fitting learns nothing: it checks the image column and opens the model).</summary>
public sealed class ImageScoringEstimator : IEstimator<ImageScoringTransformer>
{
    private const string PixelsColumn = "__MiilPixels";

    private readonly MLContext _context;
    private readonly Lazy<(byte[] Bytes, MultiLabelOnnxModel Model)> _model;
    private readonly string _source;

    internal ImageScoringEstimator(MLContext context, byte[] model, string source, ImageScoringOptions options)
        : this(context, () => model, source, options)
    {
        _ = _model.Value;  // a model in hand is checked at once
    }

    /// <summary>An estimator whose model is made when first needed (Fit, the schema, <see cref="Model"/>): a published model downloaded and converted then.</summary>
    internal ImageScoringEstimator(MLContext context, Func<byte[]> makeModel, string source, ImageScoringOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _context = context;
        _source = source;
        Options = options;
        _model = new Lazy<(byte[], MultiLabelOnnxModel)>(() =>
        {
            byte[] bytes = makeModel();
            return (bytes, MultiLabelOnnxModel.Read(bytes, source));
        });
    }

    /// <summary>The options.</summary>
    public ImageScoringOptions Options { get; }

    /// <summary>Class names, thresholds and preprocessing of the model (made on first use when the estimator was created from a published model's name).</summary>
    public MultiLabelOnnxModel Model => _model.Value.Model;

    /// <inheritdoc />
    public ImageScoringTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool fromPaths = ImageScoringTransformer.CheckImageColumn(input.Schema, Options.ImageColumnName);
        var scorer = new OnnxImageScorer(_context, _model.Value.Bytes, Options.ImageFolder,
            Options.GpuDeviceId ?? _context.GpuDeviceId, Options.FallbackToCpu ?? _context.FallbackToCpu, _source, Options.IntraOpThreads)
        {
            SkipUnreadableImages = Options.SkipUnreadableImages,
        };
        // The image column is checked above; the stock chain is fitted only when the model is saved.
        DataViewSchema schema = input.Schema;
        return new ImageScoringTransformer(scorer, () => StockChain(fromPaths).Fit(new EmptyDataView(schema)), Options);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        => StockChain(ImageColumns.IsPaths(inputSchema, Options.ImageColumnName, "ScoreImages")).GetOutputSchema(inputSchema);

    /// <summary>
    /// What a saved model holds: the stock transforms that compute the same columns row by row (pixels,
    /// the per-channel normalisation as an ONNX step when the model has one, the model itself).
    /// </summary>
    private IEstimator<ITransformer> StockChain(bool fromPaths)
    {
        ImagePreprocessing preprocessing = Model.Preprocessing;
        int? gpu = Options.GpuDeviceId ?? _context.GpuDeviceId;
        bool fallback = Options.FallbackToCpu ?? _context.FallbackToCpu;
        // The stock ONNX transformer matches columns to graph inputs by name: the last pixel step writes the model's input.
        string pixels = preprocessing.Normalizes ? PixelsColumn : OnnxModelContract.InputName;
        IEstimator<ITransformer> chain = ImagePreprocessor.StockChain(_context, preprocessing, Options.ImageFolder, Options.ImageColumnName, pixels, fromPaths);
        if (preprocessing.Normalizes)
        {
            chain = chain.Append(_context.Transforms.ApplyOnnxModel([OnnxModelContract.InputName], [PixelsColumn],
                new MemoryStream(NormalizationGraph.Build(preprocessing, PixelsColumn, OnnxModelContract.InputName)), gpu, fallback));
        }
        return chain
            .Append(_context.Transforms.ApplyOnnxModel(
                [Options.ScoreColumnName, Options.PredictedLabelsColumnName],
                [OnnxModelContract.InputName],
                new MemoryStream(_model.Value.Bytes), gpu, fallback))
            .Append(_context.Transforms.DropColumns(preprocessing.Normalizes ? [PixelsColumn, OnnxModelContract.InputName] : [OnnxModelContract.InputName]));
    }
}
