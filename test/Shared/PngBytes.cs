using System.Buffers.Binary;

namespace Miil.ML.Testing;

/// <summary>PNG files made wrong on purpose, for the tests of the readers that must refuse them.</summary>
internal static class PngBytes
{
    /// <summary>
    /// <paramref name="png"/> with its header declaring <paramref name="width"/> x <paramref name="height"/>
    /// pixels and the header's CRC fixed, so that only the size is wrong (a decompression bomb's header).
    /// </summary>
    public static byte[] DeclaringSize(byte[] png, int width, int height)
    {
        byte[] bytes = (byte[])png.Clone();
        // IHDR is the first chunk: length(4) 'IHDR'(4) width(4) height(4) ... crc(4) at 29.
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(16), width);
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(20), height);
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(29), Crc(bytes.AsSpan(12, 17)));
        return bytes;
    }

    /// <summary>The CRC-32 that PNG chunks carry (ISO 3309 polynomial, reflected) over a chunk's type and data.</summary>
    public static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int bit = 0; bit < 8; bit++)
            {
                crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
            }
        }
        return ~crc;
    }
}
