using Microsoft.ML;
using Miil.ML.Images;
using Miil.ML.Onnx;

namespace GpuCheck;

/// <summary>The parity batch: the carried images through Miil.ML's own preprocessing, plus seeded random inputs.</summary>
internal static class Inputs
{
    public static (float[] Pixels, int Count, int Images) Build(MultiLabelOnnxModel model, string imageFolder, int randomCount)
    {
        int length = model.Preprocessing.Length;
        string[] paths = Directory.Exists(imageFolder) ? Directory.GetFiles(imageFolder, "*.png", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray() : Array.Empty<string>();
        int count = paths.Length + randomCount;
        if (count == 0)
        {
            throw new ArgumentException($"No images in '{imageFolder}' and no random inputs asked for (--random 0): nothing to compare.");
        }
        var pixels = new float[count * length];
        if (paths.Length > 0)
        {
            new ImagePreprocessor(new MLContext(seed: 0), model.Preprocessing).Fill(paths, pixels);
        }
        // Standard normal values: the range normalised pixels take.
        var random = new Random(7);
        for (int i = paths.Length * length; i < pixels.Length; i += 2)
        {
            double u = 1 - random.NextDouble(), v = random.NextDouble();
            double r = Math.Sqrt(-2 * Math.Log(u));
            pixels[i] = (float)(r * Math.Cos(2 * Math.PI * v));
            if (i + 1 < pixels.Length)
            {
                pixels[i + 1] = (float)(r * Math.Sin(2 * Math.PI * v));
            }
        }
        return (pixels, count, paths.Length);
    }

    /// <summary><paramref name="batch"/> inputs taken round-robin from the parity batch.</summary>
    public static float[] Tile(float[] pixels, int count, int batch)
    {
        int length = pixels.Length / count;
        var tiled = new float[batch * length];
        for (int i = 0; i < batch; i++)
        {
            pixels.AsSpan(i % count * length, length).CopyTo(tiled.AsSpan(i * length));
        }
        return tiled;
    }
}
