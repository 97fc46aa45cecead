using OxyPlot;

namespace Miil.ML.Reports;

/// <summary>
/// Measures text as a browser draws Arial, for OxyPlot's SVG export: the exporter's own fallback
/// measures narrower, and legends and axis labels are then clipped in the page. Only measures; draws
/// nothing.
/// </summary>
internal sealed class BrowserTextMeasurer : RenderContextBase
{
    /// <summary>Average Arial advance per character, in ems, rounded up so labels never clip.</summary>
    private const double AverageAdvance = 0.58;

    public override int ClipCount => 0;

    public override OxySize MeasureText(string text, string fontFamily, double fontSize, double fontWeight)
    {
        if (string.IsNullOrEmpty(text))
        {
            return OxySize.Empty;
        }
        string[] lines = text.Split('\n');
        double bold = fontWeight >= FontWeights.Bold ? 1.08 : 1.0;
        return new OxySize(lines.Max(l => l.Length) * fontSize * AverageAdvance * bold, lines.Length * fontSize * 1.2);
    }

    public override void DrawLine(IList<ScreenPoint> points, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode, double[] dashArray, LineJoin lineJoin)
    {
    }

    public override void DrawPolygon(IList<ScreenPoint> points, OxyColor fill, OxyColor stroke, double thickness, EdgeRenderingMode edgeRenderingMode, double[] dashArray, LineJoin lineJoin)
    {
    }

    public override void DrawText(ScreenPoint p, string text, OxyColor fill, string fontFamily, double fontSize, double fontWeight, double rotate,
        HorizontalAlignment halign, VerticalAlignment valign, OxySize? maxSize)
    {
    }

    public override void PopClip()
    {
    }

    public override void PushClip(OxyRect clippingRectangle)
    {
    }
}
