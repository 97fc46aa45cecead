using System.Buffers;
using System.Text.Json;

namespace Miil.ML.Datasets;

/// <summary>
/// Reads a JSON file token by token with <see cref="Utf8JsonReader"/> over a refilled buffer, so a
/// file of any size (COCO's instances_train2017.json is 450 MB) is parsed in constant memory. The
/// reader state carries line numbers across refills, so syntax errors name the line.
/// </summary>
internal sealed class JsonTokenStream : IDisposable
{
    private readonly Stream _stream;
    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
    private int _offset;
    private int _length;
    private bool _final;
    private long _consumed;
    private bool _started;
    private JsonReaderState _state = new(new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });

    public JsonTokenStream(string path)
    {
        Path = path;
        _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
    }

    public string Path { get; }

    public JsonTokenType TokenType { get; private set; }

    /// <summary>Depth of the current token (0 for the root value).</summary>
    public int Depth { get; private set; }

    /// <summary>Text of the current string or property name.</summary>
    public string? Text { get; private set; }

    /// <summary>The current number, when it is one.</summary>
    public double Number { get; private set; }

    /// <summary>Moves to the next token; false at the end of the file.</summary>
    public bool Read()
    {
        while (true)
        {
            var reader = new Utf8JsonReader(_buffer.AsSpan(_offset, _length - _offset), _final, _state);
            bool read;
            try
            {
                read = reader.Read();
                if (read)
                {
                    TokenType = reader.TokenType;
                    Depth = reader.CurrentDepth;
                    Text = reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName ? reader.GetString() : null;
                    Number = reader.TokenType == JsonTokenType.Number ? reader.GetDouble() : double.NaN;
                }
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"'{Path}' is not valid JSON at line {e.LineNumber + 1}: {e.Message}", e);
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException)
            {
                // A string that is not valid UTF-8, or a number outside double's range.
                throw new InvalidDataException($"'{Path}' has a value that cannot be read near byte {_consumed + _offset}: {e.Message}", e);
            }
            if (read)
            {
                _offset += (int)reader.BytesConsumed;
                _state = reader.CurrentState;
                return true;
            }
            if (_final)
            {
                return false;
            }
            Refill();
        }
    }

    /// <summary>Reads the next token and checks its type.</summary>
    public void Expect(JsonTokenType type, string what)
    {
        if (!Read() || TokenType != type)
        {
            throw new InvalidDataException($"'{Path}': expected {what}, found {(TokenType == JsonTokenType.None ? "the end of the file" : TokenType.ToString())}.");
        }
    }

    /// <summary>Skips the value whose first token is current (a whole object or array, or a single value).</summary>
    public void SkipValue()
    {
        if (TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return;
        }
        int depth = Depth;
        while (Read())
        {
            if (Depth == depth && TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return;
            }
        }
        throw new InvalidDataException($"'{Path}' ends inside a value: truncated JSON.");
    }

    private void Refill()
    {
        int remaining = _length - _offset;
        if (remaining == _buffer.Length)
        {
            // One token longer than the buffer: grow it.
            byte[] larger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            _buffer.AsSpan(_offset, remaining).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = larger;
        }
        else
        {
            _buffer.AsSpan(_offset, remaining).CopyTo(_buffer);
        }
        _consumed += _offset;
        _offset = 0;
        _length = remaining;
        int read = _stream.ReadAtLeast(_buffer.AsSpan(_length), Math.Min(3, _buffer.Length - _length), throwOnEndOfStream: false);
        _length += read;
        _final = read == 0;
        if (!_started)
        {
            // Utf8JsonReader does not skip a UTF-8 byte-order mark; exports from Windows tools often start with one.
            _started = true;
            if (_length >= 3 && _buffer[0] == 0xEF && _buffer[1] == 0xBB && _buffer[2] == 0xBF)
            {
                _offset = 3;
            }
        }
    }

    public void Dispose()
    {
        _stream.Dispose();
        ArrayPool<byte>.Shared.Return(_buffer);
    }
}
