namespace HohhotCluster.Telemetry.Contracts;

/// <summary>How the platform quotes what a caller or device sent: never more than a short prefix.</summary>
public static class TextLimits
{
    /// <summary>The text, or its first <paramref name="length"/> - 1 characters and an ellipsis.</summary>
    public static string Shorten(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
