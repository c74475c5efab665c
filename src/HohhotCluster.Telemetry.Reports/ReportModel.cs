using System.Globalization;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>The kinds of report: quality audits (pass rates and failing samples) and plan KPIs.</summary>
public static class ReportKinds
{
    public const string Audit = "audit";
    public const string Kpi = "kpi";
    public static readonly string[] All = [Audit, Kpi];
}

public enum ReportFileFormat
{
    Xlsx,
    Csv,
}

/// <summary>What a report covers: <c>city</c> (every registered county), <c>county</c>, <c>pasture</c> or <c>plant</c>.</summary>
public sealed record ReportScope(string Kind, string Id)
{
    public const string City = "city";
    public const string County = "county";
    public const string Pasture = "pasture";
    public const string Plant = "plant";
    public static readonly string[] Kinds = [City, County, Pasture, Plant];

    public static readonly ReportScope WholeCity = new(City, "");

    /// <summary>How the scope reads in a cell and a file name: <c>city</c> or <c>pasture:P1</c>.</summary>
    public override string ToString() => Kind == City ? City : Kind + ":" + Id;

    public static ReportScope Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? new ReportScope(text, "") : new ReportScope(text[..colon], text[(colon + 1)..]);
    }
}

/// <summary>A report to build: a kind over one or more scopes for an inclusive period of local days.</summary>
public sealed record ReportRequest(string Kind, IReadOnlyList<ReportScope> Scopes, DateOnly From, DateOnly To)
{
    public string FileStem => $"{Kind}-{ScopeLabel}-{From.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}-{To.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}";

    private string ScopeLabel => Scopes.Count == 1 ? Sanitise(Scopes[0].ToString()) : "holdings";

    private static string Sanitise(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());
}

public enum ReportColumnType
{
    Text,
    Integer,
    Number,
    Date,
    DateTime,
    Boolean,
}

public sealed record ReportColumn(string Name, ReportColumnType Type);

/// <summary>One table of a report: a header and rows of typed values (string, long, double, DateOnly, DateTimeOffset, bool or null).</summary>
public sealed record ReportTable(string Name, IReadOnlyList<ReportColumn> Columns, IReadOnlyList<object?[]> Rows);

/// <summary>A built report: its tables, in order (an XLSX sheet each, a CSV file each).</summary>
public sealed record ReportContent(ReportRequest Request, IReadOnlyList<ReportTable> Tables)
{
    public int Rows => Tables.Sum(t => t.Rows.Count);

    public ReportTable Table(string name) => Tables.FirstOrDefault(t => t.Name == name)
        ?? throw new ArgumentException($"A {Request.Kind} report has no table '{name}' (it has {string.Join(", ", Tables.Select(t => t.Name))}).", nameof(name));
}

/// <summary>A rendered file of a report.</summary>
public sealed record RenderedReport(string FileName, string ContentType, byte[] Content, int Rows)
{
    public string Sha256 => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Content));
}
