using SkiaSharp;

namespace Miil.ML.Images;

/// <summary>
/// Decodes one image file straight to a network's planar input, with the same Skia calls that ML.NET's
/// ImageAnalytics makes (so the pixels are bit for bit the stock chain's) but without its per-row data
/// views, image copies and per-pixel managed loops: decode at the codec's own format (unpremultiplied
/// alpha made premultiplied, other formats copied to BGRA, as <c>SKBitmap.Decode</c> and <c>MLImage</c>
/// do), nearest-neighbour squash resize (<c>SKFilterQuality.None</c>, ImageAnalytics' <c>Fill</c>), then
/// bytes to floats in one pass.
/// </summary>
/// <remarks>
/// Unlike <c>SKBitmap.Decode</c>, an image whose data ends early (Skia's <c>IncompleteInput</c>) is refused:
/// Skia fills the missing rows with zeros and calls the result a success, which would score a truncated
/// file as if whole.
/// </remarks>
internal static class ImageDecoder
{
    /// <summary>
    /// Largest image accepted, in pixels (50 megapixels, about 7000 x 7000): a decoder allocates what a
    /// header declares, and a few hundred bytes of PNG can declare 60000 x 60000.
    /// </summary>
    public const long MaxPixels = 50_000_000;

    /// <summary>Decodes <paramref name="path"/> into <paramref name="into"/> (3 x S x S floats, scaled, before mean and std).</summary>
    /// <exception cref="InvalidOperationException">The file is missing, empty, not an image, too large, damaged or truncated; the message names it.</exception>
    public static void Read(string path, ImagePreprocessing preprocessing, Span<float> into)
    {
        // The file is read into a pooled buffer, not mapped (Skia's SKData.Create(path) mmaps): mapping and
        // unmapping a small file per image serialises threads on the process's address-space lock, and
        // two decoding threads ran 1.1x one (measured, docs/benchmarks.md "Scoring").
        (byte[] buffer, int length) = ReadFile(path);
        try
        {
            Read(buffer.AsSpan(0, length), path, preprocessing, into);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Decodes an encoded image held in memory (an upload) the same way, named <paramref name="name"/> in messages.</summary>
    /// <exception cref="InvalidOperationException">The bytes are empty, not an image, too large, damaged or truncated; the message names it.</exception>
    public static void Read(ReadOnlySpan<byte> encoded, string name, ImagePreprocessing preprocessing, Span<float> into)
    {
        if (encoded.IsEmpty)
        {
            throw new InvalidOperationException($"Image '{name}' is empty (0 bytes).");
        }
        SKCodec? codec;
        using (SKData data = SKData.CreateCopy(encoded))
        {
            codec = SKCodec.Create(data);
        }
        Decode(Checked(codec, name), name, preprocessing, into);
    }

    private static void Decode(SKCodec opened, string path, ImagePreprocessing preprocessing, Span<float> into)
    {
        using SKCodec codec = opened;
        SKImageInfo info = codec.Info;
        if (info.AlphaType == SKAlphaType.Unpremul)
        {
            info = info.WithAlphaType(SKAlphaType.Premul);
        }
        using var decoded = new SKBitmap(info);
        if (decoded.GetPixels() == IntPtr.Zero)
        {
            throw new InvalidOperationException($"Image '{path}' ({info.Width} x {info.Height}) cannot be decoded: no memory for its pixels.");
        }
        SKCodecResult result = codec.GetPixels(info, decoded.GetPixels());
        if (result == SKCodecResult.IncompleteInput)
        {
            throw new InvalidOperationException($"Image '{path}' is truncated: its data ends before the last row of its {info.Width} x {info.Height} pixels.");
        }
        if (result != SKCodecResult.Success)
        {
            throw new InvalidOperationException($"Image '{path}' cannot be decoded ({result}).");
        }
        if (info.ColorType is SKColorType.Bgra8888 or SKColorType.Rgba8888)
        {
            Write(decoded, preprocessing, into, path);
            return;
        }
        // MLImage keeps BGRA and RGBA as they are and copies anything else (grayscale, ...) to BGRA.
        using SKBitmap converted = decoded.Copy(SKColorType.Bgra8888)
            ?? throw new InvalidOperationException($"Image '{path}' ({info.ColorType}) cannot be converted to 8-bit BGRA.");
        Write(converted, preprocessing, into, path);
    }

    /// <summary>Largest image file read, in bytes (1 GiB: far above any 50-megapixel image's encoding).</summary>
    public const long MaxFileBytes = 1L << 30;

    /// <summary>The bytes of an image file, checked to exist and not to be empty, in a buffer rented from the shared pool.</summary>
    private static (byte[] Buffer, int Length) ReadFile(string path)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            throw new InvalidOperationException(Directory.Exists(path) ? $"Image '{path}' is a folder, not an image file." : $"Image '{path}' does not exist.");
        }
        if (file.Length == 0)
        {
            throw new InvalidOperationException($"Image '{path}' is empty (0 bytes).");
        }
        if (file.Length > MaxFileBytes)
        {
            throw new InvalidOperationException($"Image '{path}' is {file.Length:N0} bytes, over the {MaxFileBytes:N0} read for one image: refused before reading.");
        }
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)file.Length);
        try
        {
            using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            int length = 0;
            while (length < buffer.Length)
            {
                int read = RandomAccess.Read(handle, buffer.AsSpan(length), length);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
            if (length == 0)
            {
                throw new InvalidOperationException($"Image '{path}' is empty (0 bytes).");
            }
            return (buffer, length);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            throw new InvalidOperationException($"Image '{path}' cannot be read: {e.Message}", e);
        }
        catch
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>A codec that exists and declares a sane size (a decompression bomb is refused before anything is allocated).</summary>
    private static SKCodec Checked(SKCodec? codec, string path)
    {
        if (codec is null)
        {
            throw new InvalidOperationException($"Image '{path}' cannot be read: not a supported image format, or its header is damaged.");
        }
        long pixels = (long)codec.Info.Width * codec.Info.Height;
        if (codec.Info.Width <= 0 || codec.Info.Height <= 0 || pixels > MaxPixels)
        {
            int width = codec.Info.Width, height = codec.Info.Height;
            codec.Dispose();
            throw new InvalidOperationException($"Image '{path}' declares {width} x {height} pixels, outside (0, {MaxPixels:N0}]: refused before decoding.");
        }
        return codec;
    }

    /// <summary>Squash-resizes <paramref name="source"/> (nearest, as ImageAnalytics) and writes its planar scaled pixels.</summary>
    private static void Write(SKBitmap source, ImagePreprocessing preprocessing, Span<float> into, string path)
    {
        int size = preprocessing.ImageSize;
        if (source.Width == size && source.Height == size)
        {
            // ImageAnalytics passes an image of the target size through untouched.
            PlanarPixels.Write(source.GetPixelSpan(), source.RowBytes, size, source.ColorType == SKColorType.Rgba8888, preprocessing, into);
            return;
        }
        // SKBitmap.Resize's own steps: a bitmap of the source's info (colour space included, so nothing is converted) at the new size.
        using var resized = new SKBitmap(source.Info.WithSize(size, size));
        if (!source.ScalePixels(resized, new SKSamplingOptions(SKFilterMode.Nearest, SKMipmapMode.None)))
        {
            throw new InvalidOperationException($"Image '{path}' could not be resized to {size} x {size}.");
        }
        PlanarPixels.Write(resized.GetPixelSpan(), resized.RowBytes, size, resized.ColorType == SKColorType.Rgba8888, preprocessing, into);
    }
}
