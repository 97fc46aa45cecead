using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>The input with Score and PredictedLabels appended; scoring happens batch by batch as cursors move.</summary>
internal sealed class ScoredDataView(ImageScoringTransformer owner, IDataView input, DataViewSchema schema) : IDataView
{
    public bool CanShuffle => false;

    public DataViewSchema Schema => schema;

    public long? GetRowCount() => input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new ScoredCursor(owner, input, schema, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];
}

/// <summary>
/// Moves a cursor over the input for the pass-through columns and, when scores are wanted, a
/// second one over the image column that runs a batch ahead: both see the rows in the same order,
/// so batch row k is the main cursor's row at the same position.
/// </summary>
internal sealed class ScoredCursor : DataViewRowCursor
{
    private readonly ImageScoringTransformer _owner;
    private readonly DataViewRowCursor _main;
    private readonly DataViewRowCursor? _ahead;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _path;
    private readonly ValueGetter<MLImage>? _image;
    private readonly int _inputColumns;
    private readonly int _classes;
    private readonly bool[] _active;
    private const int PrefetchFromBatchSize = 8;

    private Task<(PreparedBatch Batch, int Rows)>? _next;
    private float[] _scores = [];
    private bool[] _decisions = [];
    private long _batchStart;
    private int _batchCount;
    private long _position = -1;

    public ScoredCursor(ImageScoringTransformer owner, IDataView input, DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded)
    {
        _owner = owner;
        Schema = schema;
        _inputColumns = input.Schema.Count;
        _classes = owner.Model.ClassNames.Count;
        _active = new bool[schema.Count];
        foreach (DataViewSchema.Column c in columnsNeeded)
        {
            _active[c.Index] = true;
        }
        bool scoring = _active[_inputColumns] || _active[_inputColumns + 1];
        _main = input.GetRowCursor(input.Schema.Where(c => _active[c.Index]));
        if (scoring)
        {
            DataViewSchema.Column image = input.Schema[owner.Options.ImageColumnName];
            _ahead = input.GetRowCursor([image]);
            if (image.Type is TextDataViewType)
            {
                _path = _ahead.GetGetter<ReadOnlyMemory<char>>(image);
            }
            else
            {
                _image = _ahead.GetGetter<MLImage>(image);
            }
        }
    }

    public override DataViewSchema Schema { get; }

    public override long Position => _position;

    public override long Batch => _main.Batch;

    public override bool MoveNext()
    {
        if (!_main.MoveNext())
        {
            return false;
        }
        _position++;
        if (_ahead is not null && _position >= _batchStart + _batchCount)
        {
            NextBatch();
        }
        return true;
    }

    /// <summary>
    /// Scores the next batch. While ONNX Runtime runs it, the batch after it is read and
    /// preprocessed on a worker, so decoding and inference overlap.
    /// </summary>
    private void NextBatch()
    {
        _batchStart = _position;
        try
        {
            (PreparedBatch batch, int rows) = _next is null ? ReadBatch() : _next.GetAwaiter().GetResult();
            // Tiny batches gain nothing from overlapping and would pay a task per batch.
            _next = rows == _owner.BatchSize && _owner.BatchSize >= PrefetchFromBatchSize ? Task.Run(ReadBatch) : null;
            using (batch)
            {
                (_scores, _decisions) = _owner.Scorer.Run(batch);
            }
            _batchCount = rows;
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"Scoring rows from {_batchStart} (batches of {_owner.BatchSize}): {e.Message}", e);
        }
    }

    /// <summary>Reads and preprocesses up to a batch of rows from the look-ahead cursor.</summary>
    private (PreparedBatch Batch, int Rows) ReadBatch()
    {
        if (_path is not null)
        {
            var paths = new List<string>(_owner.BatchSize);
            ReadOnlyMemory<char> path = default;
            while (paths.Count < _owner.BatchSize && _ahead!.MoveNext())
            {
                _path(ref path);
                paths.Add(path.ToString());
            }
            return (_owner.Scorer.Prepare(paths), paths.Count);
        }

        // Images are copied as they are read: upstream transforms may dispose one when their cursor moves on.
        var images = new List<MLImage>(_owner.BatchSize);
        try
        {
            MLImage image = null!;
            while (images.Count < _owner.BatchSize && _ahead!.MoveNext())
            {
                _image!(ref image);
                images.Add(image is null
                    ? throw new InvalidOperationException($"A row has no image.")
                    : MLImage.CreateFromPixels(image.Width, image.Height, image.PixelFormat, image.Pixels));
            }
            return (_owner.Scorer.Prepare(images), images.Count);
        }
        finally
        {
            foreach (MLImage copy in images)
            {
                copy.Dispose();
            }
        }
    }

    public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

    public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        if (column.Index < _inputColumns)
        {
            return _main.GetGetter<TValue>(_main.Schema[column.Index]);
        }
        Func<int> row = () => checked((int)(_position - _batchStart));
        return column.Index == _inputColumns
            ? RowSlices.Getter<TValue, float>(() => _scores, row, _classes)
            : RowSlices.Getter<TValue, bool>(() => _decisions, row, _classes);
    }

    public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (_next is not null)
            {
                // A batch read ahead that nobody will score: wait for it, give its buffer back.
                try
                {
                    _next.GetAwaiter().GetResult().Batch.Dispose();
                }
                catch (InvalidOperationException)
                {
                }
            }
            _main.Dispose();
            _ahead?.Dispose();
        }
        base.Dispose(disposing);
    }
}
