using Miil.ML.Images;

namespace Miil.ML.TorchSharp.Training;

/// <summary>
/// Cutout, a RandAugment policy and a horizontal flip on one resized image: planar RGB (C x S x S)
/// in [0, 1], the very buffer the network reads, so training and scoring share resize and pixel
/// code and only these in-place edits differ. The random numbers come from a generator seeded per
/// image (<see cref="RandomFor"/>), which makes augmentation independent of thread timing.
/// </summary>
internal static class Augmentation
{
    /// <summary>
    /// RandAugment's operations (timm's list; Equalize, Sharpness and SolarizeAdd left out). Geometric
    /// ones sample the nearest source pixel and fill uncovered pixels with grey 128, as PIL does there.
    /// </summary>
    internal enum Operation
    {
        Identity, AutoContrast, Invert, Rotate, Posterize, Solarize, Color, Contrast, Brightness, ShearX, ShearY, TranslateX, TranslateY,
    }

    private const float Fill = 128f / 255f;

    /// <summary>A generator for the image at <paramref name="position"/> of <paramref name="epoch"/>'s order, the same in every process.</summary>
    public static Random RandomFor(int seed, int epoch, long position) => StableRandom.Create((uint)seed, epoch, position);

    /// <summary>
    /// Brings one image decoded with <paramref name="preprocessing"/> (before its mean and std) to the
    /// RGB planes in [0, 1] that <see cref="Apply"/> edits: its grey levels, clamps and fill colours are
    /// those of 8-bit RGB. Nothing to do for TResNet's input (RGB, 1/255); ML.NET's ResNet18 reads BGR in
    /// 0-255, which is divided by 255 and its outer planes swapped. <see cref="FromUnitRgb"/> goes back.
    /// </summary>
    public static void ToUnitRgb(Span<float> image, int size, ImagePreprocessing preprocessing)
    {
        Rescale(image, 1f / (255f * preprocessing.Scale));
        SwapOuterPlanes(image, size, preprocessing);
    }

    /// <summary>The inverse of <see cref="ToUnitRgb"/>.</summary>
    public static void FromUnitRgb(Span<float> image, int size, ImagePreprocessing preprocessing)
    {
        SwapOuterPlanes(image, size, preprocessing);
        Rescale(image, 255f * preprocessing.Scale);
    }

    private static void Rescale(Span<float> image, float factor)
    {
        if (factor != 1f)
        {
            for (int i = 0; i < image.Length; i++)
            {
                image[i] *= factor;
            }
        }
    }

    private static void SwapOuterPlanes(Span<float> image, int size, ImagePreprocessing preprocessing)
    {
        if (preprocessing.ChannelOrder == ColorChannelOrder.Bgr)
        {
            int n = size * size;
            Span<float> first = image[..n], last = image.Slice(2 * n, n);
            for (int i = 0; i < n; i++)
            {
                (first[i], last[i]) = (last[i], first[i]);
            }
        }
    }

    public static void Apply(Span<float> image, int size, AugmentationOptions options, Random random, float[] scratch)
    {
        if (options.CutoutFactor > 0)
        {
            Cutout(image, size, options.CutoutFactor, random);
        }
        for (int i = 0; i < options.RandAugmentOperations; i++)
        {
            var operation = (Operation)random.Next(Enum.GetValues<Operation>().Length);
            double level = options.RandAugmentMagnitude / 30.0;
            double sign = random.Next(2) == 0 ? -1 : 1;
            Run(operation, level, sign, image, size, scratch);
        }
        if (options.HorizontalFlipProbability > 0 && random.NextDouble() < options.HorizontalFlipProbability)
        {
            FlipHorizontal(image, size);
        }
    }

    /// <summary>The reference's CutoutPIL: a box of about factor x side, centred at a uniform pixel, clipped, one random colour (PIL's rectangle includes its far corner).</summary>
    internal static void Cutout(Span<float> image, int size, double factor, Random random)
    {
        int box = (int)(factor * size + 0.5);
        int yc = random.Next(size), xc = random.Next(size);
        int y1 = Math.Clamp(yc - box / 2, 0, size), y2 = Math.Clamp(yc + box / 2, 0, size);
        int x1 = Math.Clamp(xc - box / 2, 0, size), x2 = Math.Clamp(xc + box / 2, 0, size);
        Span<float> colour = [random.Next(256) / 255f, random.Next(256) / 255f, random.Next(256) / 255f];
        for (int c = 0; c < 3; c++)
        {
            Span<float> plane = image.Slice(c * size * size, size * size);
            for (int y = y1; y <= Math.Min(y2, size - 1); y++)
            {
                plane.Slice(y * size + x1, Math.Min(x2, size - 1) - x1 + 1).Fill(colour[c]);
            }
        }
    }

    internal static void FlipHorizontal(Span<float> image, int size)
    {
        for (int row = 0; row < 3 * size; row++)
        {
            image.Slice(row * size, size).Reverse();
        }
    }

    internal static void Run(Operation operation, double level, double sign, Span<float> image, int size, float[] scratch)
    {
        switch (operation)
        {
            case Operation.Identity:
                break;
            case Operation.AutoContrast:
                for (int c = 0; c < 3; c++)
                {
                    Span<float> plane = image.Slice(c * size * size, size * size);
                    float lo = float.MaxValue, hi = float.MinValue;
                    foreach (float v in plane)
                    {
                        lo = Math.Min(lo, v);
                        hi = Math.Max(hi, v);
                    }
                    if (hi > lo)
                    {
                        float scale = 1 / (hi - lo);
                        foreach (ref float v in plane)
                        {
                            v = (v - lo) * scale;
                        }
                    }
                }
                break;
            case Operation.Invert:
                foreach (ref float v in image)
                {
                    v = 1 - v;
                }
                break;
            case Operation.Posterize:
                {
                    int bits = 8 - (int)(level * 4);
                    int mask = ~((1 << (8 - bits)) - 1) & 0xFF;
                    foreach (ref float v in image)
                    {
                        v = ((int)MathF.Round(v * 255) & mask) / 255f;
                    }
                    break;
                }
            case Operation.Solarize:
                {
                    float threshold = (float)(1 - level);
                    foreach (ref float v in image)
                    {
                        v = v >= threshold ? 1 - v : v;
                    }
                    break;
                }
            case Operation.Brightness:
                Blend(image, (float)(1 + 0.9 * level * sign), (_, _) => 0f, size);
                break;
            case Operation.Contrast:
                {
                    double sum = 0;
                    int n = size * size;
                    for (int i = 0; i < n; i++)
                    {
                        sum += Gray(image, i, n);
                    }
                    float mean = (float)(sum / n);
                    Blend(image, (float)(1 + 0.9 * level * sign), (_, _) => mean, size);
                    break;
                }
            case Operation.Color:
                {
                    int n = size * size;
                    Span<float> gray = scratch.AsSpan(0, n);
                    for (int i = 0; i < n; i++)
                    {
                        gray[i] = Gray(image, i, n);
                    }
                    float factor = (float)(1 + 0.9 * level * sign);
                    for (int c = 0; c < 3; c++)
                    {
                        Span<float> plane = image.Slice(c * n, n);
                        for (int i = 0; i < n; i++)
                        {
                            plane[i] = Math.Clamp(gray[i] + factor * (plane[i] - gray[i]), 0f, 1f);
                        }
                    }
                    break;
                }
            case Operation.Rotate:
                {
                    double angle = 30 * level * sign * Math.PI / 180;
                    double cos = Math.Cos(angle), sin = Math.Sin(angle);
                    Warp(image, size, scratch, (x, y) => (cos * x + sin * y, -sin * x + cos * y), centred: true);
                    break;
                }
            case Operation.ShearX:
                Warp(image, size, scratch, (x, y) => (x + 0.3 * level * sign * y, y), centred: false);
                break;
            case Operation.ShearY:
                Warp(image, size, scratch, (x, y) => (x, y + 0.3 * level * sign * x), centred: false);
                break;
            case Operation.TranslateX:
                Warp(image, size, scratch, (x, y) => (x + 0.45 * level * sign * size, y), centred: false);
                break;
            case Operation.TranslateY:
                Warp(image, size, scratch, (x, y) => (x, y + 0.45 * level * sign * size), centred: false);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(operation), operation, null);
        }
    }

    private static float Gray(ReadOnlySpan<float> image, int i, int n) => 0.299f * image[i] + 0.587f * image[n + i] + 0.114f * image[2 * n + i];

    /// <summary>PIL's ImageEnhance: blend towards a degenerate image by factor, clipped to [0, 1].</summary>
    private static void Blend(Span<float> image, float factor, Func<int, int, float> degenerate, int size)
    {
        int n = size * size;
        for (int c = 0; c < 3; c++)
        {
            for (int i = 0; i < n; i++)
            {
                float d = degenerate(c, i);
                image[c * n + i] = Math.Clamp(d + factor * (image[c * n + i] - d), 0f, 1f);
            }
        }
    }

    /// <summary>For each output pixel, reads the source pixel the inverse map gives (nearest), grey outside.</summary>
    private static void Warp(Span<float> image, int size, float[] scratch, Func<double, double, (double X, double Y)> inverse, bool centred)
    {
        int n = size * size;
        double centre = centred ? (size - 1) / 2.0 : 0;
        for (int c = 0; c < 3; c++)
        {
            Span<float> plane = image.Slice(c * n, n);
            Span<float> copy = scratch.AsSpan(0, n);
            plane.CopyTo(copy);
            for (int y = 0; y < size; y++)
            {
                for (int x = 0; x < size; x++)
                {
                    (double sx, double sy) = inverse(x - centre, y - centre);
                    int ix = (int)Math.Round(sx + centre), iy = (int)Math.Round(sy + centre);
                    plane[y * size + x] = ix >= 0 && ix < size && iy >= 0 && iy < size ? copy[iy * size + ix] : Fill;
                }
            }
        }
    }
}
