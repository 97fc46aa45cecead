using Microsoft.ML;
using Microsoft.ML.Data;

namespace Miil.ML.Images;

/// <summary>
/// A one-column data view over a slice of a list (image paths or images). The batch preprocessor
/// makes one per slice of every batch; <c>LoadFromEnumerable</c> would build its getters by
/// reflection each time, which for small images cost more than decoding them.
/// </summary>
internal sealed class ColumnDataView<TItem, TValue> : IDataView
{
    private readonly IReadOnlyList<TItem> _items;
    private readonly int _first;
    private readonly int _count;
    private readonly Func<TItem, TValue> _value;

    public ColumnDataView(DataViewSchema schema, IReadOnlyList<TItem> items, int first, int count, Func<TItem, TValue> value)
    {
        Schema = schema;
        _items = items;
        _first = first;
        _count = count;
        _value = value;
    }

    /// <summary>The schema of such views: one column of <paramref name="type"/>.</summary>
    public static DataViewSchema SchemaFor(string column, DataViewType type)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(column, type);
        return builder.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _count;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        => new Cursor(this, columnsNeeded.Any());

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        => [GetRowCursor(columnsNeeded, rand)];

    private sealed class Cursor(ColumnDataView<TItem, TValue> view, bool active) : DataViewRowCursor
    {
        private long _position = -1;

        public override DataViewSchema Schema => view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override bool MoveNext() => ++_position < view._count;

        public override bool IsColumnActive(DataViewSchema.Column column) => active;

        public override ValueGetter<T> GetGetter<T>(DataViewSchema.Column column)
        {
            ValueGetter<TValue> getter = (ref TValue value) => value = view._value(view._items[view._first + (int)_position]);
            return (ValueGetter<T>)(Delegate)getter;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
            => (ref DataViewRowId value) => value = new DataViewRowId((ulong)_position, 0);
    }
}
