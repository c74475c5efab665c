using Microsoft.Extensions.Localization;

[assembly: RootNamespace("HohhotCluster.Telemetry.Dashboard")]

namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>The dashboard's texts: Resources/Text.resx (Chinese, the default) and Resources/Text.en.resx (English).</summary>
public sealed class Text;
