using Microsoft.ML;
using Microsoft.ML.Data;
using SkiaSharp;

namespace Miil.ML.Reports;

/// <summary>Small JPEG thumbnails of chosen rows' images (paths or MLImage), for the report's gallery.</summary>
internal static class Thumbnails
{
    public static IReadOnlyDictionary<long, (string? Path, byte[]? Thumbnail)> Read(IDataView data, DataViewSchema.Column column, IReadOnlySet<long> rows, ReportOptions options)
    {
        var result = new Dictionary<long, (string?, byte[]?)>();
        if (rows.Count == 0)
        {
            return result;
        }
        long last = rows.Max();
        using DataViewRowCursor cursor = data.GetRowCursor([column]);
        if (column.Type is TextDataViewType)
        {
            ValueGetter<ReadOnlyMemory<char>> get = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> value = default;
            while (cursor.MoveNext() && cursor.Position <= last)
            {
                if (rows.Contains(cursor.Position))
                {
                    get(ref value);
                    string path = value.ToString();
                    string full = options.ImageFolder is null || Path.IsPathRooted(path) ? path : Path.Combine(options.ImageFolder, path);
                    result[cursor.Position] = (path, FromFile(full, options.ThumbnailSize));
                }
            }
        }
        else
        {
            ValueGetter<MLImage> get = cursor.GetGetter<MLImage>(column);
            MLImage? value = null;
            while (cursor.MoveNext() && cursor.Position <= last)
            {
                if (rows.Contains(cursor.Position))
                {
                    get(ref value!);
                    result[cursor.Position] = (null, value is null ? null : FromImage(value, options.ThumbnailSize));
                }
            }
        }
        return result;
    }

    /// <summary>A JPEG no larger than <paramref name="size"/> on its long side; null for a file that does not decode.</summary>
    private static byte[]? FromFile(string path, int size)
    {
        try
        {
            using SKCodec? codec = File.Exists(path) ? SKCodec.Create(path) : null;
            if (codec is null || (long)codec.Info.Width * codec.Info.Height > Images.ImagePreprocessor.MaxPixels)
            {
                return null;
            }
            using SKBitmap? bitmap = SKBitmap.Decode(codec);
            return bitmap is null ? null : Encode(bitmap, size);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private static byte[]? FromImage(MLImage image, int size)
    {
        SKColorType type = image.PixelFormat == MLPixelFormat.Rgba32 ? SKColorType.Rgba8888 : SKColorType.Bgra8888;
        using var bitmap = new SKBitmap(new SKImageInfo(image.Width, image.Height, type, SKAlphaType.Premul));
        ReadOnlySpan<byte> pixels = image.Pixels;
        if (pixels.Length != bitmap.ByteCount)
        {
            return null;
        }
        System.Runtime.InteropServices.Marshal.Copy(pixels.ToArray(), 0, bitmap.GetPixels(), pixels.Length);
        return Encode(bitmap, size);
    }

    private static byte[] Encode(SKBitmap source, int size)
    {
        double scale = Math.Min(1.0, (double)size / Math.Max(source.Width, source.Height));
        int width = Math.Max(1, (int)Math.Round(source.Width * scale)), height = Math.Max(1, (int)Math.Round(source.Height * scale));
        using SKBitmap resized = width == source.Width && height == source.Height ? source.Copy() : source.Resize(new SKImageInfo(width, height), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using SKImage picture = SKImage.FromBitmap(resized);
        using SKData jpeg = picture.Encode(SKEncodedImageFormat.Jpeg, 80);
        return jpeg.ToArray();
    }
}
