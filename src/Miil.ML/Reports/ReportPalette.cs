using OxyPlot;

namespace Miil.ML.Reports;

/// <summary>
/// Series colours that stay apart for 24 series, and never contradict a class whose name is a colour: a
/// "red circle" is drawn red (its siblings of the same colour get other line styles), never green.
/// </summary>
internal static class ReportPalette
{
    private static readonly OxyColor[] Colours = [.. new[]
    {
        "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939",
        "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52",
    }.Select(OxyColor.Parse)];

    /// <summary>Colour words and the colour a name containing one is drawn in (readable on white).</summary>
    private static readonly (string Word, OxyColor Colour)[] Named =
    [
        ("red", OxyColor.Parse("#d62728")), ("green", OxyColor.Parse("#2ca02c")), ("blue", OxyColor.Parse("#1f77b4")),
        ("yellow", OxyColor.Parse("#b89b00")), ("orange", OxyColor.Parse("#ff7f0e")), ("purple", OxyColor.Parse("#9467bd")),
        ("violet", OxyColor.Parse("#9467bd")), ("pink", OxyColor.Parse("#e377c2")), ("brown", OxyColor.Parse("#8c564b")),
        ("gray", OxyColor.Parse("#7f7f7f")), ("grey", OxyColor.Parse("#7f7f7f")), ("black", OxyColor.Parse("#222222")),
        ("white", OxyColor.Parse("#aaaaaa")), ("cyan", OxyColor.Parse("#17becf")), ("magenta", OxyColor.Parse("#c0329e")),
    ];

    private static readonly LineStyle[] Styles = [LineStyle.Solid, LineStyle.Dash, LineStyle.Dot, LineStyle.DashDot, LineStyle.LongDash, LineStyle.DashDashDot];

    /// <summary>The colour and line style of each series, in order.</summary>
    public static IReadOnlyList<(OxyColor Colour, LineStyle Style)> For(IReadOnlyList<string> names)
    {
        var result = new (OxyColor, LineStyle)[names.Count];
        var uses = new Dictionary<OxyColor, int>();
        int next = 0;
        for (int i = 0; i < names.Count; i++)
        {
            OxyColor? named = ColourOf(names[i]);
            OxyColor colour;
            if (named is OxyColor n)
            {
                colour = n;
            }
            else
            {
                // The next palette colour no colour-named class claims, if one is left.
                var claimed = names.Select(ColourOf).Where(c => c is not null).Select(c => c!.Value).ToHashSet();
                int tries = 0;
                do
                {
                    colour = Colours[next++ % Colours.Length];
                }
                while (claimed.Contains(colour) && ++tries < Colours.Length);
            }
            int use = uses.GetValueOrDefault(colour);
            uses[colour] = use + 1;
            result[i] = (colour, Styles[use % Styles.Length]);
        }
        return result;
    }

    /// <summary>The colour a name states ("red circle": red), or null.</summary>
    public static OxyColor? ColourOf(string name)
    {
        foreach (string word in name.ToLowerInvariant().Split([' ', '_', '-', '/', '.'], StringSplitOptions.RemoveEmptyEntries))
        {
            foreach ((string w, OxyColor c) in Named)
            {
                if (word == w)
                {
                    return c;
                }
            }
        }
        return null;
    }
}
