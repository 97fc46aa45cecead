using Microsoft.ML;
using Microsoft.ML.Data;
using Miil.ML.Evaluation;

namespace Miil.ML;

public sealed partial class MultiLabelCatalog
{
    /// <summary>
    /// Evaluates multi-label scores in one pass over <paramref name="data"/>: mAP (reference,
    /// tie-aware and positive-weighted), per-class AP, precision, recall and F1, and CP/CR/CF1/OP/OR/OF1
    /// at the threshold and for each sample's top k.
    /// </summary>
    /// <param name="data">Scored data.</param>
    /// <param name="labelColumnName">Label column: known-size vector of Single, 1 positive, 0 negative, -1 ignored. Its slot names are the class names.</param>
    /// <param name="scoreColumnName">Score column: known-size vector of Single of the same size.</param>
    /// <param name="predictedLabelsColumnName">Optional vector of Boolean decisions to evaluate instead of <paramref name="threshold"/>.</param>
    /// <param name="threshold">Decision threshold (score &gt; threshold). Default 0.5.</param>
    /// <param name="topK">k of the top-k metrics. Default 3, the literature's.</param>
    /// <returns>The metrics, as fractions in [0, 1].</returns>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type or size.</exception>
    /// <exception cref="InvalidOperationException">The data has no rows, or a value is invalid (the message names the column, row and class).</exception>
    public MultiLabelMetrics Evaluate(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        string? predictedLabelsColumnName = null, float threshold = ThresholdOptions.DefaultThreshold, int topK = 3)
    {
        Scored scored = ReadScored(data, labelColumnName, scoreColumnName, predictedLabelsColumnName);
        try
        {
            return MultiLabelEvaluator.Evaluate(scored.Matrix, scored.ClassNames, threshold, topK, $"column '{scoreColumnName}'");
        }
        catch (ArgumentException e) when (e.ParamName is "scores" or "labels")
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    /// <summary>
    /// Evaluates scores held in plain arrays (row-major N x C), as <see cref="Evaluate(IDataView, string, string, string?, float, int)"/>
    /// does a data view: for scores made outside ML.NET, or kept from an earlier run.
    /// </summary>
    /// <param name="scores">N x C scores, row by row.</param>
    /// <param name="labels">N x C labels of the same layout: 1 positive, 0 negative, -1 ignored.</param>
    /// <param name="classCount">C.</param>
    /// <param name="classNames">The class names, or null for class_0, class_1, ...</param>
    /// <param name="threshold">Decision threshold (score &gt; threshold). Default 0.5.</param>
    /// <param name="topK">k of the top-k metrics. Default 3, the literature's.</param>
    /// <exception cref="ArgumentException">The arrays are not N x <paramref name="classCount"/>, or a value is invalid (named by row and class).</exception>
    public MultiLabelMetrics Evaluate(float[] scores, float[] labels, int classCount, IReadOnlyList<string>? classNames = null,
        float threshold = ThresholdOptions.DefaultThreshold, int topK = 3)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(labels);
        return MultiLabelEvaluator.Evaluate(scores, labels, classCount, classNames, threshold, topK);
    }

    /// <summary>
    /// Chooses decision thresholds on validation data: one global threshold or one per class,
    /// maximising F1 or reaching a target precision. The thresholds come back with their class names
    /// and the metrics they give on this data. Applying them inside a saved model is an ONNX step
    /// (Miil.ML.Onnx's <c>ApplyThresholds</c>).
    /// </summary>
    /// <param name="data">Scored validation data.</param>
    /// <param name="labelColumnName">Label column (see <see cref="Evaluate(IDataView, string, string, string?, float, int)"/>).</param>
    /// <param name="scoreColumnName">Score column of the same size.</param>
    /// <param name="options">Fixed, global or per class; objective, target precision. Default: per class, maximise F1.</param>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type or size.</exception>
    /// <exception cref="InvalidOperationException">No rows, or an invalid value (the message names the column, row and class).</exception>
    public TunedThresholds TuneThresholds(IDataView data, string labelColumnName = DefaultColumnNames.Label, string scoreColumnName = DefaultColumnNames.Score,
        ThresholdOptions? options = null)
    {
        Scored scored = ReadScored(data, labelColumnName, scoreColumnName, predictedLabelsColumnName: null);
        try
        {
            return ThresholdTuner.Tune(scored.Matrix, scored.ClassNames, options, $"column '{scoreColumnName}'");
        }
        catch (ArgumentException e) when (e.ParamName is "scores" or "labels")
        {
            throw new InvalidOperationException(e.Message, e);
        }
    }

    /// <summary>The scored columns of a data view, read in one pass.</summary>
    private sealed record Scored(ScoreMatrix Matrix, string[]? ClassNames);

    private static Scored ReadScored(IDataView data, string labelColumnName, string scoreColumnName, string? predictedLabelsColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        DataViewSchema.Column label = VectorColumn(data.Schema, labelColumnName, NumberDataViewType.Single, "label");
        DataViewSchema.Column score = VectorColumn(data.Schema, scoreColumnName, NumberDataViewType.Single, "score");
        int classes = ((VectorDataViewType)label.Type).Size;
        if (((VectorDataViewType)score.Type).Size != classes)
        {
            throw new ArgumentException(
                $"Column '{scoreColumnName}' has {((VectorDataViewType)score.Type).Size} slots but label column '{labelColumnName}' has {classes}.", nameof(scoreColumnName));
        }
        DataViewSchema.Column? predicted = null;
        if (predictedLabelsColumnName is not null)
        {
            predicted = VectorColumn(data.Schema, predictedLabelsColumnName, BooleanDataViewType.Instance, "predicted labels");
            if (((VectorDataViewType)predicted.Value.Type).Size != classes)
            {
                throw new ArgumentException($"Column '{predictedLabelsColumnName}' has {((VectorDataViewType)predicted.Value.Type).Size} slots but the labels {classes}.", nameof(predictedLabelsColumnName));
            }
        }
        ScoreMatrix matrix = Read(data, score, label, predicted, classes, $"column '{labelColumnName}'");
        if (matrix.Rows == 0)
        {
            throw new InvalidOperationException($"The data has no rows to evaluate (columns '{labelColumnName}', '{scoreColumnName}').");
        }
        return new Scored(matrix, SlotNames.Of(label) ?? SlotNames.Of(score));
    }

    private static DataViewSchema.Column VectorColumn(DataViewSchema schema, string name, PrimitiveDataViewType item, string role)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        DataViewSchema.Column column = schema.GetColumnOrNull(name)
            ?? throw new ArgumentException($"The data has no {role} column '{name}'. Columns: {string.Join(", ", schema.Select(c => c.Name))}.", nameof(name));
        if (column.Type is not VectorDataViewType { IsKnownSize: true } vector || !vector.ItemType.Equals(item))
        {
            throw new ArgumentException($"The {role} column '{name}' is {column.Type}; it must be a known-size vector of {item}.", nameof(name));
        }
        return column;
    }

    private static ScoreMatrix Read(IDataView data, DataViewSchema.Column score, DataViewSchema.Column label,
        DataViewSchema.Column? predicted, int classes, string labelSource)
    {
        var matrix = ScoreMatrix.Create(classes, predicted is not null, data.GetRowCount());
        var columns = predicted is null ? new[] { score, label } : new[] { score, label, predicted.Value };
        using DataViewRowCursor cursor = data.GetRowCursor(columns);
        ValueGetter<VBuffer<float>> getScore = cursor.GetGetter<VBuffer<float>>(score);
        ValueGetter<VBuffer<float>> getLabel = cursor.GetGetter<VBuffer<float>>(label);
        ValueGetter<VBuffer<bool>>? getPredicted = predicted is null ? null : cursor.GetGetter<VBuffer<bool>>(predicted.Value);
        VBuffer<float> s = default, y = default;
        VBuffer<bool> d = default;
        float[] dense = new float[classes], denseLabels = new float[classes];
        bool[] denseDecisions = new bool[predicted is null ? 0 : classes];
        while (cursor.MoveNext())
        {
            getScore(ref s);
            getLabel(ref y);
            // Dense buffers (the common case) are read in place; sparse ones are expanded.
            ReadOnlySpan<float> scoreRow = Dense(s, dense);
            ReadOnlySpan<float> labelRow = Dense(y, denseLabels);
            if (getPredicted is not null)
            {
                getPredicted(ref d);
                d.CopyTo(denseDecisions);
            }
            try
            {
                matrix.Add(scoreRow, labelRow, denseDecisions, labelSource);
            }
            catch (ArgumentException e)
            {
                throw new InvalidOperationException(e.Message, e);
            }
        }
        return matrix;
    }

    private static ReadOnlySpan<float> Dense(in VBuffer<float> buffer, float[] scratch)
    {
        if (buffer.IsDense)
        {
            return buffer.GetValues();
        }
        buffer.CopyTo(scratch);
        return scratch;
    }
}
