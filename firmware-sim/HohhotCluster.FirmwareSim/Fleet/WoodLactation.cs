namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>Wood's lactation curve y(t) = a·t^b·e^(-c·t), t = days in milk, in kg/day.</summary>
internal readonly record struct WoodLactation(double A, double B, double C)
{
    public static readonly WoodLactation CowHerdBlend = new(23.0, 0.18, 0.0030);
    public static readonly WoodLactation SaanenGoat = new(1.70, 0.1885, 0.0048);

    public double DailyYieldKg(int daysInMilk) =>
        daysInMilk <= 0 ? 0 : A * Math.Pow(daysInMilk, B) * Math.Exp(-C * daysInMilk);

    public double TotalYieldKg(int days)
    {
        var total = 0.0;
        for (var day = 1; day <= days; day++)
        {
            total += DailyYieldKg(day);
        }
        return total;
    }

    /// <summary>
    /// Parity shapes the curve: first lactations peak lower and persist longer, later ones peak
    /// higher. The factors keep the herd blend (about a third first-parity) on the published curve.
    /// </summary>
    public WoodLactation ForParity(int parity) => parity switch
    {
        <= 1 => new WoodLactation(A * 0.80, B, C * 0.80),
        2 => new WoodLactation(A * 1.04, B, C * 1.03),
        _ => new WoodLactation(A * 1.08, B, C * 1.08),
    };
}
