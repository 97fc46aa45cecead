using Microsoft.ML.Data;
using Microsoft.ML.Transforms;

namespace Miil.ML.Labels;

/// <summary>
/// The label-text rules of <c>MapLabels</c>, one token at a time: surrounding whitespace is trimmed,
/// one pair of surrounding double quotes is removed (so <c>"traffic light"</c> works), empty tokens
/// are dropped, and duplicates within a row count once. A token with an unbalanced quote is an error.
/// </summary>
internal static class LabelCleaning
{
    public static List<string> Clean(IEnumerable<string> tokens)
    {
        var labels = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string raw in tokens)
        {
            string label = raw.Trim();
            if (label.Length > 0 && (label[0] == '"' || label[^1] == '"'))
            {
                if (label.Length < 2 || label[0] != '"' || label[^1] != '"')
                {
                    throw new InvalidOperationException($"Label '{raw}' has an unbalanced double quote.");
                }
                label = label[1..^1].Trim();
            }
            if (label.Length > 0 && seen.Add(label))
            {
                labels.Add(label);
            }
        }
        return labels;
    }
}

/// <summary>
/// Input of the cleaning step. Custom mappings find their columns by property name after a model is
/// loaded, so the temporary columns carry these names, unlikely to meet a user's column.
/// </summary>
internal sealed class LabelTokens
{
    public const string Column = nameof(__MiilLabelTokens);

    [VectorType]
    public string[] __MiilLabelTokens { get; set; } = [];
}

/// <summary>Output of the cleaning step.</summary>
internal sealed class CleanLabels
{
    public const string Column = nameof(__MiilLabels);

    [VectorType]
    public string[] __MiilLabels { get; set; } = [];
}

/// <summary>
/// The cleaning step as a registered custom mapping: a saved model names this contract, and loading
/// it needs this assembly registered with <c>mlContext.ComponentCatalog.RegisterAssembly</c>.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class CleanLabelsFactory : CustomMappingFactory<LabelTokens, CleanLabels>
{
    public const string ContractName = "Miil.ML.CleanLabels";

    public static void Map(LabelTokens input, CleanLabels output) => output.__MiilLabels = LabelCleaning.Clean(input.__MiilLabelTokens).ToArray();

    public override Action<LabelTokens, CleanLabels> GetMapping() => Map;
}

/// <summary>Input of the unknown-label check: a row's clean labels and the same labels after a round trip through the class list (unknown ones come back empty).</summary>
internal sealed class LabelsAndKnown
{
    public const string KnownColumn = nameof(__MiilKnownLabels);

    [VectorType]
    public string[] __MiilLabels { get; set; } = [];

    [VectorType]
    public string[] __MiilKnownLabels { get; set; } = [];
}

/// <summary>Output of the unknown-label check: the labels, passed on only once checked.</summary>
internal sealed class CheckedLabels
{
    public const string Column = nameof(__MiilCheckedLabels);

    [VectorType]
    public string[] __MiilCheckedLabels { get; set; } = [];
}

/// <summary>
/// Throws on a label outside the class list (<see cref="UnknownLabelPolicy.Error"/>). Stateless, so
/// that it saves as a contract name: it compares each label with its round trip through the class
/// list, and the labels it passes on are what the indicator is built from, so the check cannot be
/// skipped by ML.NET's lazy columns.
/// </summary>
[CustomMappingFactoryAttribute(ContractName)]
internal sealed class RejectUnknownLabelsFactory : CustomMappingFactory<LabelsAndKnown, CheckedLabels>
{
    public const string ContractName = "Miil.ML.RejectUnknownLabels";

    public static void Map(LabelsAndKnown input, CheckedLabels output)
    {
        for (int i = 0; i < input.__MiilLabels.Length; i++)
        {
            if (i >= input.__MiilKnownLabels.Length || input.__MiilKnownLabels[i] != input.__MiilLabels[i])
            {
                throw new InvalidOperationException(
                    $"Label '{input.__MiilLabels[i]}' is not in the class list. Pass the full class list to MapLabels, or set unknownLabels to UnknownLabelPolicy.Ignore.");
            }
        }
        output.__MiilCheckedLabels = input.__MiilLabels;
    }

    public override Action<LabelsAndKnown, CheckedLabels> GetMapping() => Map;
}
