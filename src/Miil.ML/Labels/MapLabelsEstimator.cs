using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Miil.ML.Labels;

/// <summary>
/// Turns a text column like <c>"cat;dog"</c> (or a vector-of-text column) into the project's label
/// convention: a known-size vector of Single, 1 for each listed class and 0 for the others, with the
/// class names as slot names. Created by <c>mlContext.MultiLabel().MapLabels(...)</c>.
/// </summary>
/// <remarks>
/// <para>Label text: split on the separator; each label trimmed; one pair of surrounding double
/// quotes removed (<c>"traffic light"</c>); empty labels dropped (an empty cell is a row with no
/// positive); duplicates in a row count once. Names may contain spaces. A label cannot contain the
/// separator.</para>
/// <para>Classes: given, or learned from the data at Fit as the distinct labels in ordinal
/// (culture-independent) order, so that the order does not depend on row order. Pass the training
/// classes when mapping validation and test splits so that all share one label space.</para>
/// <para>The fitted transformer is a chain of stock ML.NET transforms (tokenizer, value-to-key with
/// the class list, key-to-vector) and two small custom mappings (cleaning, unknown-label check). It
/// saves with <c>mlContext.Model.Save</c> with the class list inside the zip (no side file).
/// <b>Before <c>mlContext.Model.Load</c> of such a model, call
/// <c>mlContext.ComponentCatalog.RegisterAssembly(typeof(MapLabelsEstimator).Assembly)</c></b>:
/// ML.NET finds custom mappings only in registered assemblies (or, by chance, ones already loaded
/// in the process).</para>
/// </remarks>
public sealed class MapLabelsEstimator : IEstimator<ITransformer>
{
    private const string KeysColumn = "__MiilLabelKeys";
    private const string IndicatorColumn = "__MiilLabelIndicator";
    private const string KnownKeysColumn = "__MiilKnownLabelKeys";

    private readonly MLContext _context;

    internal MapLabelsEstimator(MLContext context, string outputColumnName, string inputColumnName, char separator,
        IReadOnlyList<string>? classes, UnknownLabelPolicy unknownLabels)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
        ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
        if (separator == '"' || char.IsWhiteSpace(separator) && separator != ' ')
        {
            throw new ArgumentException($"'{separator}' cannot separate labels.", nameof(separator));
        }
        _context = context;
        OutputColumnName = outputColumnName;
        InputColumnName = inputColumnName;
        Separator = separator;
        UnknownLabels = unknownLabels;
        Classes = classes is null ? null : ValidateClasses(classes);
    }

    /// <summary>The label-vector column written.</summary>
    public string OutputColumnName { get; }

    /// <summary>The text (or vector of text) column read.</summary>
    public string InputColumnName { get; }

    /// <summary>The separator between labels in a text cell.</summary>
    public char Separator { get; }

    /// <summary>The class list given, or null to learn it at Fit.</summary>
    public IReadOnlyList<string>? Classes { get; }

    /// <summary>What happens to labels outside the class list.</summary>
    public UnknownLabelPolicy UnknownLabels { get; }

    /// <summary>Learns the class list (unless given) and returns the fitted mapping.</summary>
    /// <exception cref="ArgumentException">The input column is missing or not text.</exception>
    /// <exception cref="InvalidOperationException">No label occurs in the data and no class list was given.</exception>
    public ITransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        bool vectorInput = InputKind(input.Schema);
        IEstimator<ITransformer> cleaning = Cleaning(vectorInput);
        IReadOnlyList<string> classes = Classes ?? Learn(cleaning.Fit(input).Transform(input));
        return Chain(vectorInput, classes).Fit(input);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        SchemaShape.Column column = inputSchema.FirstOrDefault(c => c.Name == InputColumnName);
        if (column.Name is null)
        {
            throw new ArgumentException($"The data has no column '{InputColumnName}' to map labels from.", nameof(inputSchema));
        }
        if (!column.ItemType.Equals(TextDataViewType.Instance))
        {
            throw new ArgumentException($"Column '{InputColumnName}' is {column.ItemType}; MapLabels reads text or a vector of text.", nameof(inputSchema));
        }
        bool vector = column.Kind != SchemaShape.Column.VectorKind.Scalar;
        return Chain(vector, Classes ?? ["?"]).GetOutputSchema(inputSchema);
    }

    private bool InputKind(DataViewSchema schema)
    {
        DataViewSchema.Column column = schema.GetColumnOrNull(InputColumnName)
            ?? throw new ArgumentException($"The data has no column '{InputColumnName}' to map labels from. Columns: {string.Join(", ", schema.Select(c => c.Name))}.");
        return column.Type switch
        {
            TextDataViewType => false,
            VectorDataViewType { ItemType: TextDataViewType } => true,
            _ => throw new ArgumentException($"Column '{InputColumnName}' is {column.Type}; MapLabels reads text (\"cat;dog\") or a vector of text."),
        };
    }

    private IEstimator<ITransformer> Cleaning(bool vectorInput)
    {
        IEstimator<ITransformer> tokens = vectorInput
            ? _context.Transforms.CopyColumns(LabelTokens.Column, InputColumnName)
            : _context.Transforms.Text.TokenizeIntoWords(LabelTokens.Column, InputColumnName, [Separator]);
        return tokens.Append(_context.Transforms.CustomMapping<LabelTokens, CleanLabels>(CleanLabelsFactory.Map, CleanLabelsFactory.ContractName));
    }

    private IEstimator<ITransformer> Chain(bool vectorInput, IReadOnlyList<string> classes)
    {
        IDataView keyData = _context.Data.LoadFromEnumerable(classes.Select(c => new ClassName { Value = c }));
        IEstimator<ITransformer> chain = Cleaning(vectorInput);
        var temporary = new List<string> { LabelTokens.Column, CleanLabels.Column, KeysColumn, IndicatorColumn };
        string labels = CleanLabels.Column;
        if (UnknownLabels == UnknownLabelPolicy.Error)
        {
            // Round trip through the class list; the check passes the labels on, and the indicator is
            // built from what it passes, so it runs whenever the label column is read.
            chain = chain
                .Append(_context.Transforms.Conversion.MapValueToKey(KnownKeysColumn, CleanLabels.Column, keyData: keyData))
                .Append(_context.Transforms.Conversion.MapKeyToValue(LabelsAndKnown.KnownColumn, KnownKeysColumn))
                .Append(_context.Transforms.CustomMapping<LabelsAndKnown, CheckedLabels>(RejectUnknownLabelsFactory.Map, RejectUnknownLabelsFactory.ContractName));
            temporary.AddRange([KnownKeysColumn, LabelsAndKnown.KnownColumn, CheckedLabels.Column]);
            labels = CheckedLabels.Column;
        }
        return chain
            .Append(_context.Transforms.Conversion.MapValueToKey(KeysColumn, labels, keyData: keyData))
            // The bag of the row's keys: counts, which are 0 or 1 since labels are de-duplicated.
            .Append(_context.Transforms.Conversion.MapKeyToVector(IndicatorColumn, KeysColumn, outputCountVector: true))
            .Append(_context.Transforms.CopyColumns(OutputColumnName, IndicatorColumn))
            .Append(_context.Transforms.DropColumns([.. temporary]));
    }

    private IReadOnlyList<string> Learn(IDataView cleaned)
    {
        var classes = new SortedSet<string>(StringComparer.Ordinal);
        try
        {
            foreach (CleanLabels row in _context.Data.CreateEnumerable<CleanLabels>(cleaned, reuseRowObject: true))
            {
                classes.UnionWith(row.__MiilLabels);
            }
        }
        catch (Exception e) when (Innermost(e) is InvalidOperationException cause && cause.TargetSite?.DeclaringType == typeof(LabelCleaning))
        {
            // ML.NET wraps exceptions of its worker threads; surface the label problem itself.
            throw new InvalidOperationException($"Column '{InputColumnName}': {cause.Message}", e);
        }
        if (classes.Count == 0)
        {
            throw new InvalidOperationException($"Column '{InputColumnName}' holds no label at all; there are no classes to learn. Pass the class list.");
        }
        return classes.ToList();
    }

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }
        return e;
    }

    private static string[] ValidateClasses(IReadOnlyList<string> classes)
    {
        if (classes.Count == 0)
        {
            throw new ArgumentException("The class list is empty.", nameof(classes));
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string c in classes)
        {
            if (string.IsNullOrWhiteSpace(c) || c.Trim() != c)
            {
                throw new ArgumentException($"Class name '{c}' is empty or has surrounding whitespace.", nameof(classes));
            }
            if (!seen.Add(c))
            {
                throw new ArgumentException($"Class '{c}' appears twice in the class list.", nameof(classes));
            }
        }
        return [.. classes];
    }

    private sealed class ClassName
    {
        public string Value { get; set; } = "";
    }
}
