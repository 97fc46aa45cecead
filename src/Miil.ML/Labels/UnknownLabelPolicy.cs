namespace Miil.ML.Labels;

/// <summary>What <c>MapLabels</c> does with a label that is not in its class list at transform time.</summary>
public enum UnknownLabelPolicy
{
    /// <summary>Throw, naming the label (default: a typo should not silently become a negative).</summary>
    Error,

    /// <summary>Drop it: the row is negative for every known class it does not list.</summary>
    Ignore,
}
