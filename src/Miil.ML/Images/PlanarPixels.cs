using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Miil.ML.Images;

/// <summary>
/// 8-bit BGRA or RGBA pixels to planar floats, <c>byte x scale</c> per channel in the record's order: what
/// ImageAnalytics' pixel extraction computes (<c>(byte - 0) x scale</c> in float, so the same bits), in one
/// pass, four pixels at a time where the processor has 128-bit vectors.
/// </summary>
internal static class PlanarPixels
{
    public static void Write(ReadOnlySpan<byte> pixels, int rowBytes, int size, bool rgba, ImagePreprocessing preprocessing, Span<float> into)
    {
        int plane = size * size;
        // Byte offsets of red, green and blue in a pixel.
        (int r, int g, int b) = rgba ? (0, 1, 2) : (2, 1, 0);
        (int first, int second, int third) = preprocessing.ChannelOrder == ColorChannelOrder.Rgb ? (r, g, b) : (b, g, r);
        Span<float> p0 = into[..plane], p1 = into.Slice(plane, plane), p2 = into.Slice(2 * plane, plane);
        float scale = preprocessing.Scale;
        for (int y = 0; y < size; y++)
        {
            ReadOnlySpan<byte> row = pixels.Slice(y * rowBytes, size * 4);
            int o = y * size;
            int x = 0;
            if (Vector128.IsHardwareAccelerated)
            {
                x = Row128(row, size, first, second, third, scale, p0.Slice(o, size), p1.Slice(o, size), p2.Slice(o, size));
            }
            for (; x < size; x++)
            {
                p0[o + x] = row[4 * x + first] * scale;
                p1[o + x] = row[4 * x + second] * scale;
                p2[o + x] = row[4 * x + third] * scale;
            }
        }
    }

    /// <summary>Four pixels per step: one byte lane picked per channel, widened to int, converted, scaled. Returns the pixels done.</summary>
    private static int Row128(ReadOnlySpan<byte> row, int width, int first, int second, int third, float scale, Span<float> p0, Span<float> p1, Span<float> p2)
    {
        Vector128<float> s = Vector128.Create(scale);
        Vector128<int> mask = Vector128.Create(0xFF);
        ref byte start = ref MemoryMarshal.GetReference(row);
        int x = 0;
        for (; x + 4 <= width; x += 4)
        {
            Vector128<int> quad = Vector128.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref start, 4 * x)));
            (Vector128.ConvertToSingle((quad >>> (8 * first)) & mask) * s).CopyTo(p0.Slice(x, 4));
            (Vector128.ConvertToSingle((quad >>> (8 * second)) & mask) * s).CopyTo(p1.Slice(x, 4));
            (Vector128.ConvertToSingle((quad >>> (8 * third)) & mask) * s).CopyTo(p2.Slice(x, 4));
        }
        return x;
    }
}
