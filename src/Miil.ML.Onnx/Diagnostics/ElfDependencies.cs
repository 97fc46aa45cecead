using System.Buffers.Binary;
using System.Text;

namespace Miil.ML.Onnx.Diagnostics;

/// <summary>
/// The libraries an ELF64 shared object names as DT_NEEDED: what the dynamic loader will look for when
/// it is loaded. Read from the section headers, the dynamic section and its string table only, so a
/// 284 MB provider library costs a few reads.
/// </summary>
internal static class ElfDependencies
{
    private const uint ShtDynamic = 6;
    private const long DtNeeded = 1;

    /// <summary>The DT_NEEDED names of <paramref name="path"/>, in file order.</summary>
    /// <exception cref="InvalidDataException">The file is not a little-endian ELF64 object, or its headers point outside it.</exception>
    public static IReadOnlyList<string> Needed(string path)
    {
        using FileStream file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[64];
        if (file.Read(header) < 64 || header[0] != 0x7f || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            throw new InvalidDataException($"'{path}' is not an ELF file.");
        }
        if (header[4] != 2 || header[5] != 1)
        {
            throw new InvalidDataException($"'{path}' is not a little-endian 64-bit ELF file.");
        }
        long sectionsAt = BinaryPrimitives.ReadInt64LittleEndian(header[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(header[0x3C..]);
        if (entrySize < 64 || sectionsAt <= 0 || sectionsAt + (long)entrySize * count > file.Length)
        {
            throw new InvalidDataException($"'{path}' has section headers outside the file.");
        }
        byte[] sections = Read(file, path, sectionsAt, entrySize * count);
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> s = sections.AsSpan(i * entrySize, entrySize);
            if (BinaryPrimitives.ReadUInt32LittleEndian(s[4..]) != ShtDynamic)
            {
                continue;
            }
            byte[] dynamic = Read(file, path, BinaryPrimitives.ReadInt64LittleEndian(s[0x18..]), checked((int)BinaryPrimitives.ReadInt64LittleEndian(s[0x20..])));
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[0x28..]);
            if (link >= count)
            {
                throw new InvalidDataException($"'{path}' links its dynamic section to a missing string table.");
            }
            ReadOnlySpan<byte> strtab = sections.AsSpan(link * entrySize, entrySize);
            byte[] strings = Read(file, path, BinaryPrimitives.ReadInt64LittleEndian(strtab[0x18..]), checked((int)BinaryPrimitives.ReadInt64LittleEndian(strtab[0x20..])));
            var needed = new List<string>();
            for (int at = 0; at + 16 <= dynamic.Length; at += 16)
            {
                long tag = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(at));
                if (tag == 0)
                {
                    break;
                }
                if (tag == DtNeeded)
                {
                    long offset = BinaryPrimitives.ReadInt64LittleEndian(dynamic.AsSpan(at + 8));
                    if (offset < 0 || offset >= strings.Length)
                    {
                        throw new InvalidDataException($"'{path}' names a needed library outside its string table.");
                    }
                    int end = Array.IndexOf(strings, (byte)0, (int)offset);
                    needed.Add(Encoding.UTF8.GetString(strings, (int)offset, (end < 0 ? strings.Length : end) - (int)offset));
                }
            }
            return needed;
        }
        return Array.Empty<string>();
    }

    private static byte[] Read(FileStream file, string path, long offset, int length)
    {
        if (offset < 0 || length < 0 || offset + length > file.Length)
        {
            throw new InvalidDataException($"'{path}' points outside itself ({offset}+{length} of {file.Length} bytes).");
        }
        var bytes = new byte[length];
        file.Position = offset;
        file.ReadExactly(bytes);
        return bytes;
    }
}
