using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Tests.Contracts;

public sealed class ChinaTimeTests
{
    [Theory]
    [InlineData("2026-11-28T23:59:00+08:00", "2026-11-28")]
    [InlineData("2026-11-29T00:01:00+08:00", "2026-11-29")]
    [InlineData("2026-11-28T15:59:59Z", "2026-11-28")]
    [InlineData("2026-11-28T16:00:00Z", "2026-11-29")]
    [InlineData("2026-11-28T11:30:00-05:00", "2026-11-29")]
    public void Local_day_is_the_China_Standard_Time_calendar_day(string instant, string expected) =>
        Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture),
            ChinaTime.LocalDate(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture)));

    [Fact]
    public void Day_starts_at_16_00_UTC_the_day_before() =>
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 16, 0, 0, TimeSpan.Zero), ChinaTime.StartOfDay(new DateOnly(2026, 11, 29)));
}
