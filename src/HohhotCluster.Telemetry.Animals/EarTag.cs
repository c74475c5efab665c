namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The Chinese national ear tag of a farmed animal (docs/animals.md): 15 digits, the species code (2 cattle, 3 sheep
/// and goats), the 6-digit county code of the county where the animal was tagged, and an 8-digit serial.
/// </summary>
public readonly record struct EarTag(string Value)
{
    public const string Scheme = "cn.moa.eartag";
    public const int Length = 15;

    /// <summary>The species digit: <c>2</c> for cattle, <c>3</c> for sheep and goats.</summary>
    public char SpeciesDigit => Value[0];

    /// <summary>The 6-digit county code (GB/T 2260) of where the animal was tagged.</summary>
    public string CountyCode => Value.Substring(1, 6);

    public string Serial => Value.Substring(7, 8);

    public override string ToString() => Value;

    /// <summary>True, with the tag, when <paramref name="text"/> is 15 digits starting with 2 or 3; else the rule it breaks.</summary>
    public static bool TryParse(string? text, out EarTag tag, out string problem)
    {
        tag = default;
        if (text is null || text.Length != Length)
        {
            problem = "must be a 15-digit ear tag";
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                problem = "must be a 15-digit ear tag (digits only)";
                return false;
            }
        }

        if (text[0] is not ('2' or '3'))
        {
            problem = "must start with the species code 2 (cattle) or 3 (sheep and goats)";
            return false;
        }

        tag = new EarTag(text);
        problem = "";
        return true;
    }

    /// <summary>The tag's species digit for a pasture's species (<c>cow</c> 2, <c>goat</c> 3).</summary>
    public static char DigitOf(AnimalSpecies species) => species == AnimalSpecies.Cow ? '2' : '3';
}
