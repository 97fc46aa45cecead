using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Miil.ML.Cli.Output;

/// <summary>
/// Where a command's words go. On a terminal: Spectre.Console tables and progress. Redirected (a CI log, a
/// pipe): plain lines. With <c>--json</c>: the result as JSON on standard output and every message on
/// standard error, so that <c>miil ... --json | jq</c> reads one document.
/// </summary>
internal sealed class Terminal(Verbosity verbosity, bool json)
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public Verbosity Verbosity { get; } = verbosity;

    public bool Json { get; } = json;

    /// <summary>Whether to draw (tables, progress bars): standard output is a terminal and no JSON was asked for.</summary>
    public bool Interactive { get; } = !json && !Console.IsOutputRedirected;

    private TextWriter Messages => Json ? Console.Error : Console.Out;

    /// <summary>A line of the normal conversation (hidden by quiet and minimal).</summary>
    public void Info(string line)
    {
        if (Verbosity >= Verbosity.Normal)
        {
            Messages.WriteLine(line);
        }
    }

    /// <summary>A result line that even minimal shows (where files went, the final figure).</summary>
    public void Result(string line)
    {
        if (Verbosity >= Verbosity.Minimal)
        {
            Messages.WriteLine(line);
        }
    }

    /// <summary>Detail for detailed and diag.</summary>
    public void Detail(string line)
    {
        if (Verbosity >= Verbosity.Detailed)
        {
            Messages.WriteLine(line);
        }
    }

    public void Warning(string line) => Console.Error.WriteLine($"warning: {line}");

    public void Error(string line) => Console.Error.WriteLine(line);

    /// <summary>A table: drawn on a terminal, aligned plain columns otherwise (never in JSON mode: the JSON document is the result).</summary>
    public void Table(string? title, IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows)
    {
        if (Json || Verbosity < Verbosity.Minimal)
        {
            return;
        }
        List<IReadOnlyList<string>> all = rows.ToList();
        if (Interactive)
        {
            var table = new Table();
            if (title is not null)
            {
                table.Title(Markup.Escape(title));
            }
            foreach (string header in headers)
            {
                table.AddColumn(Markup.Escape(header));
            }
            foreach (IReadOnlyList<string> row in all)
            {
                table.AddRow(row.Select(Markup.Escape).ToArray());
            }
            AnsiConsole.Write(table);
            return;
        }
        if (title is not null)
        {
            Console.Out.WriteLine(title);
        }
        int[] widths = headers.Select((h, i) => Math.Max(h.Length, all.Count == 0 ? 0 : all.Max(r => i < r.Count ? r[i].Length : 0))).ToArray();
        Console.Out.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (IReadOnlyList<string> row in all)
        {
            Console.Out.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
        }
    }

    /// <summary>Writes <paramref name="value"/> as the command's JSON result (only with <c>--json</c>).</summary>
    public void WriteJson<T>(T value)
    {
        if (Json)
        {
            Console.Out.WriteLine(JsonSerializer.Serialize(value, JsonOptions));
        }
    }

    /// <summary>The JSON text of <paramref name="value"/> as the CLI writes it (files such as metrics.json).</summary>
    public static string ToJson<T>(T value) => JsonSerializer.Serialize(value, JsonOptions);

    public static T? FromJson<T>(string json) => JsonSerializer.Deserialize<T>(json, JsonOptions);
}
