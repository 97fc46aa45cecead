using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Onnx.Scoring;

/// <summary>
/// A one-column data view over a slice of image paths. The batch preprocessor makes one per slice
/// of every batch; <c>LoadFromEnumerable</c> would build its getters by reflection each time, which
/// for small images cost more than decoding them.
/// </summary>
internal sealed class PathsDataView : IDataView
{
    private readonly IReadOnlyList<string> _paths;
    private readonly int _first;
    private readonly int _count;

    public PathsDataView(DataViewSchema schema, IReadOnlyList<string> paths, int first, int count)
    {
        Schema = schema;
        _paths = paths;
        _first = first;
        _count = count;
    }

    /// <summary>The schema of such views: one text column.</summary>
    public static DataViewSchema SchemaFor(string column)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(column, TextDataViewType.Instance);
        return builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded.Any());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(PathsDataView view, bool active) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => ++_position < view._count;

        public override bool IsColumnActive(DataViewSchema.Column column) => active;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> value) => value = view._paths[view._first + (int)_position].AsMemory();
            return (ValueGetter<TValue>)(Delegate)getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
    }
}
