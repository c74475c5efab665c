using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Contracts;
using SpreadCheetah;
using SpreadCheetah.Styling;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>
/// A report's tables as files: XLSX (SpreadCheetah, streaming: one sheet per table, a bold header row, numbers as
/// numbers, days as dates, instants as local date-times in China Standard Time) and CSV (RFC 4180, UTF-8 with a BOM
/// so a spreadsheet opens Chinese text, one file per table); and the digest of the tables, the same for the same data
/// whatever the format (an XLSX archive carries the time it was written, so its bytes differ between renderings).
/// </summary>
public static class ReportWriters
{
    public const string XlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    public const string CsvContentType = "text/csv; charset=utf-8";

    public static async Task<RenderedReport> XlsxAsync(ReportContent content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream();
        await using (var spreadsheet = await Spreadsheet.CreateNewAsync(stream, new SpreadCheetahOptions { BufferSize = 64 * 1024 }, cancellationToken))
        {
            var header = spreadsheet.AddStyle(new Style { Font = { Bold = true } });
            var date = spreadsheet.AddStyle(new Style { Format = NumberFormat.Standard(StandardNumberFormat.ShortDate) });
            var dateTime = spreadsheet.AddStyle(new Style { Format = NumberFormat.Custom("yyyy-mm-dd hh:mm:ss") });
            foreach (var table in content.Tables)
            {
                await spreadsheet.StartWorksheetAsync(table.Name, token: cancellationToken);
                var cells = new Cell[table.Columns.Count];
                for (var i = 0; i < cells.Length; i++)
                {
                    cells[i] = new Cell(table.Columns[i].Name, header);
                }

                await spreadsheet.AddRowAsync(cells, cancellationToken);
                foreach (var row in table.Rows)
                {
                    for (var i = 0; i < cells.Length; i++)
                    {
                        cells[i] = row[i] switch
                        {
                            null => new Cell((string?)null),
                            string s => new Cell(s),
                            long l => new Cell(l),
                            int n => new Cell(n),
                            double d => new Cell(d),
                            bool b => new Cell(b),
                            DateOnly d => new Cell(d.ToDateTime(TimeOnly.MinValue), date),
                            DateTimeOffset t => new Cell(t.ToOffset(ChinaTime.Offset).DateTime, dateTime),
                            var other => throw new InvalidOperationException($"No cell type for {other.GetType().Name} in {table.Name}.{table.Columns[i].Name}."),
                        };
                    }

                    await spreadsheet.AddRowAsync(cells, cancellationToken);
                }
            }

            await spreadsheet.FinishAsync(cancellationToken);
        }

        return new RenderedReport(content.Request.FileStem + ".xlsx", XlsxContentType, stream.ToArray(), content.Rows);
    }

    public static RenderedReport Csv(ReportContent content, ReportTable table)
    {
        var text = new StringBuilder();
        AppendCsv(text, table);
        var preamble = Encoding.UTF8.GetPreamble();
        var body = Encoding.UTF8.GetBytes(text.ToString());
        var bytes = new byte[preamble.Length + body.Length];
        preamble.CopyTo(bytes, 0);
        body.CopyTo(bytes, preamble.Length);
        return new RenderedReport($"{content.Request.FileStem}-{table.Name}.csv", CsvContentType, bytes, table.Rows.Count);
    }

    /// <summary>SHA-256 over every table's name and CSV text: what the report says, not how a file packs it.</summary>
    public static string Digest(ReportContent content)
    {
        var text = new StringBuilder();
        foreach (var table in content.Tables)
        {
            text.Append("# ").Append(table.Name).Append("\r\n");
            AppendCsv(text, table);
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }

    private static void AppendCsv(StringBuilder text, ReportTable table)
    {
        var fields = new string[table.Columns.Count];
        for (var i = 0; i < fields.Length; i++)
        {
            fields[i] = table.Columns[i].Name;
        }

        Audit.Csv.AppendRecord(text, fields);
        foreach (var row in table.Rows)
        {
            for (var i = 0; i < fields.Length; i++)
            {
                fields[i] = Field(row[i]);
            }

            Audit.Csv.AppendRecord(text, fields);
        }
    }

    /// <summary>Invariant text: numbers round-trip, days as YYYY-MM-DD, instants as RFC 3339 in China Standard Time.</summary>
    private static string Field(object? value) => value switch
    {
        null => "",
        string s => Audit.Csv.Text(s),
        long l => l.ToString(CultureInfo.InvariantCulture),
        int n => n.ToString(CultureInfo.InvariantCulture),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
        var other => throw new InvalidOperationException($"No CSV form for {other.GetType().Name}."),
    };
}
