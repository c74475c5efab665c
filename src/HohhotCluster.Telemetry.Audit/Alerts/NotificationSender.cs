using System.Net.Mail;
using System.Net.Mime;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>The targets a notification may be sent to, checked when a subscription or schedule is made.</summary>
public static class NotificationTargets
{
    /// <summary>An https:// URL, or http:// on a loopback address (a receiver on the host itself).</summary>
    public static bool IsWebhookUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps
            || (url.Scheme == Uri.UriSchemeHttp && System.Net.IPAddress.TryParse(url.Host, out var address) && System.Net.IPAddress.IsLoopback(address)));

    public static bool IsEmailAddress(string text) => MailAddress.TryCreate(text, out _);
}

/// <summary>A file an e-mail carries.</summary>
public sealed record MailAttachment(string FileName, string ContentType, byte[] Content);

/// <summary>
/// The platform's two ways to reach a person, for every sender (alert notifications, scheduled reports): a JSON body
/// POSTed to a webhook with its HMAC-SHA256 signature in <see cref="SignatureHeader"/>, and e-mail through the SMTP
/// relay of <see cref="AlertNotificationOptions"/>; each attempt answers null when delivered, else why not, and
/// <see cref="WithRetriesAsync"/> repeats one with backoff.
/// </summary>
public sealed class NotificationSender(IOptions<AlertNotificationOptions> options, TimeProvider clock) : IDisposable
{
    public const string SignatureHeader = "X-Hohhot-Signature";
    private readonly HttpClient _http = new() { Timeout = options.Value.RequestTimeout };

    /// <summary>One POST of <paramref name="body"/> (JSON) signed with <paramref name="secret"/>.</summary>
    public async Task<string?> PostSignedAsync(string url, string secret, string body, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add(SignatureHeader, Sign(secret, body));
            using var response = await _http.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? null : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return exception.Message;
        }
    }

    /// <summary>One e-mail through the configured relay (UTF-8 subject and body, optional attachments).</summary>
    public async Task<string?> SendMailAsync(IReadOnlyList<string> to, string subject, string body, IReadOnlyList<MailAttachment> attachments,
        CancellationToken cancellationToken)
    {
        var o = options.Value;
        if (o.SmtpHost.Length == 0)
        {
            return "e-mail is not configured (Audit:Notifications:SmtpHost)";
        }

        try
        {
            using var smtp = new SmtpClient(o.SmtpHost, o.SmtpPort) { EnableSsl = o.SmtpTls, Timeout = (int)o.RequestTimeout.TotalMilliseconds };
            using var mail = new MailMessage { From = new MailAddress(o.SmtpFrom), Subject = subject, Body = body, BodyEncoding = Encoding.UTF8, SubjectEncoding = Encoding.UTF8 };
            foreach (var address in to)
            {
                mail.To.Add(address);
            }

            var streams = new List<MemoryStream>();
            try
            {
                foreach (var file in attachments)
                {
                    var stream = new MemoryStream(file.Content, writable: false);
                    streams.Add(stream);
                    mail.Attachments.Add(new Attachment(stream, file.FileName, new ContentType(file.ContentType).MediaType));
                }

                await smtp.SendMailAsync(mail, cancellationToken);
            }
            finally
            {
                foreach (var stream in streams)
                {
                    await stream.DisposeAsync();
                }
            }

            return null;
        }
        catch (Exception exception) when (exception is SmtpException or IOException or InvalidOperationException or FormatException && !cancellationToken.IsCancellationRequested)
        {
            return exception.Message;
        }
    }

    /// <summary>
    /// Up to <see cref="AlertNotificationOptions.Attempts"/> attempts, each after twice the delay before the last;
    /// <paramref name="onRetry"/> hears each failure that is retried. Answers the attempts made and the last error (null: delivered).
    /// </summary>
    public async Task<(int Attempts, string? Error)> WithRetriesAsync(Func<CancellationToken, Task<string?>> attempt, Action<int, string>? onRetry,
        CancellationToken cancellationToken)
    {
        var o = options.Value;
        var delay = o.FirstRetryDelay;
        string? error = null;
        for (var n = 1; n <= o.Attempts; n++)
        {
            error = await attempt(cancellationToken);
            if (error is null || n == o.Attempts)
            {
                return (n, error);
            }

            onRetry?.Invoke(n, error);
            await Task.Delay(delay, clock, cancellationToken);
            delay += delay;
        }

        return (o.Attempts, error);
    }

    /// <summary>The signature a receiver recomputes: <c>sha256=</c> and the hex HMAC-SHA256 of the body with the shared secret.</summary>
    public static string Sign(string secret, string body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));

    public void Dispose() => _http.Dispose();
}
