using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// Scores an image-path (or image) column with a multi-label ONNX model in batches: reads <see cref="BatchSize"/>
/// rows ahead, preprocesses them as the model's record says, in parallel, runs one ONNX
/// Runtime call per batch, and serves <c>Score</c> (probabilities) and <c>PredictedLabels</c>
/// (per-class thresholds of the model) with the class names as slot names. Works with
/// <c>PredictionEngine</c> (one row at a time). Saved with <c>mlContext.Model.Save</c> as the
/// equivalent chain of stock transforms (load, resize, extract pixels, ONNX with the model
/// embedded), which any ML.NET application loads; that chain scores row by row and carries no slot
/// names. Dispose it to release the ONNX Runtime session.
/// </summary>
/// <remarks>Transform may be called from several threads; each cursor preprocesses and scores its own batches.</remarks>
public sealed class ImageScoringTransformer : ITransformer, IDisposable
{
    private readonly OnnxImageScorer _scorer;

    /// <summary>
    /// Fits the equivalent stock chain, only when the model is saved: fitted, ML.NET's ONNX transformer opens
    /// a second session on the same model, which scoring never uses.
    /// </summary>
    private readonly Func<ITransformer> _stock;

    internal ImageScoringTransformer(OnnxImageScorer scorer, Func<ITransformer> stock, ImageScoringOptions options)
    {
        _scorer = scorer;
        _stock = stock;
        Options = options;
    }

    /// <summary>The options it was created with.</summary>
    public ImageScoringOptions Options { get; }

    /// <summary>Rows scored per ONNX Runtime call.</summary>
    public int BatchSize => Options.BatchSize;

    /// <summary>Class names, thresholds and preprocessing of the model.</summary>
    public MultiLabelOnnxModel Model => _scorer.Model;

    /// <summary>Images scored as missing so far (with <see cref="ImageScoringOptions.SkipUnreadableImages"/>).</summary>
    public long SkippedImages => _scorer.SkippedImages;

    /// <summary>Where the model runs.</summary>
    public OnnxDevice Device => _scorer.Device;

    internal OnnxImageScorer Scorer => _scorer;

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckImageColumn(inputSchema, Options.ImageColumnName);
        var builder = new DataViewSchema.Builder();
        // Every input column keeps its index (the cursors pass them through by index); new columns of
        // the same name hide the old ones, as in ML.NET's own transforms.
        builder.AddColumns(inputSchema);
        var names = new VBuffer<ReadOnlyMemory<char>>(Model.ClassNames.Count, Model.ClassNames.Select(n => n.AsMemory()).ToArray());
        var slots = new DataViewSchema.Annotations.Builder();
        slots.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, Model.ClassNames.Count),
            (ref VBuffer<ReadOnlyMemory<char>> value) => names.CopyTo(ref value));
        builder.AddColumn(Options.ScoreColumnName, new VectorDataViewType(NumberDataViewType.Single, Model.ClassNames.Count), slots.ToAnnotations());
        builder.AddColumn(Options.PredictedLabelsColumnName, new VectorDataViewType(BooleanDataViewType.Instance, Model.ClassNames.Count), slots.ToAnnotations());
        return builder.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new ScoredDataView(this, input, GetOutputSchema(input.Schema));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new ScoringRowMapper(this, inputSchema, GetOutputSchema(inputSchema));

    /// <summary>Writes the model as an NVIDIA Triton model repository entry (see <see cref="Serving.TritonRepository"/>); returns the model's folder.</summary>
    /// <param name="repository">The model repository folder.</param>
    /// <param name="modelName">The model's name (its folder); null for "multilabel".</param>
    /// <param name="options">Batching and instances.</param>
    public string SaveTritonRepository(string repository, string? modelName = null, Serving.TritonOptions? options = null)
        => Serving.TritonRepository.Save(_scorer.ModelBytes, repository, modelName, options);

    /// <summary>Saves the equivalent chain of stock transforms (the model's bytes embedded).</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        ITransformer stock = _stock();
        try
        {
            stock.Save(ctx);
        }
        finally
        {
            (stock as IDisposable)?.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose() => _scorer.Dispose();

    /// <summary>Checks the image column; true when it holds paths, false when it holds images.</summary>
    internal static bool CheckImageColumn(DataViewSchema schema, string name)
        => ImageColumns.IsPaths(schema, name, "ScoreImages", "data", "ImageScoringOptions.ImageColumnName");
}
