using HohhotCluster.Telemetry.Api;
using HohhotCluster.Telemetry.Identity;

namespace HohhotCluster.Telemetry.Tests.Api;

public sealed class GatewaySecretRuleTests
{
    [Fact]
    public void A_secret_of_24_to_256_visible_ascii_characters_is_accepted_and_one_outside_that_length_is_not()
    {
        Assert.False(GatewaySecretRule.Allows(""));
        Assert.False(GatewaySecretRule.Allows(new string('a', GatewaySecretRule.MinLength - 1)));
        Assert.True(GatewaySecretRule.Allows(new string('a', GatewaySecretRule.MinLength)));
        Assert.True(GatewaySecretRule.Allows(new string('~', GatewaySecretRule.MaxLength)));
        Assert.False(GatewaySecretRule.Allows(new string('a', GatewaySecretRule.MaxLength + 1)));
        Assert.True(GatewaySecretRule.Allows("!\"#$%&'()*+,-./0123456789:;<=>?@AZaz[\\]^_`{|}~"));
    }

    [Theory]
    [InlineData("a secret with spaces in it")]
    [InlineData("tab\tseparated-secret-value-here")]
    [InlineData("line\nbroken-secret-value-here")]
    [InlineData("non-ascii-secret-value-é-here")]
    [InlineData("non-ascii-secret-value-牛奶-here")]
    [InlineData("delete-character-\u007f-secret-value")]
    public void A_secret_with_whitespace_control_or_non_ascii_characters_is_refused(string secret)
    {
        Assert.True(secret.Length >= GatewaySecretRule.MinLength, "the case must fail on its characters, not its length");
        Assert.False(GatewaySecretRule.Allows(secret));
    }

    [Fact]
    public void A_generated_secret_always_passes_the_rule_a_caller_is_held_to()
    {
        for (var i = 0; i < 200; i++)
        {
            Assert.True(GatewaySecretRule.Allows(SecretHasher.NewSecret()));
        }
    }

    [Fact]
    public void The_refusal_names_the_rule_with_its_limits()
    {
        Assert.Contains($"{GatewaySecretRule.MinLength}-{GatewaySecretRule.MaxLength} printable ASCII", GatewaySecretRule.Description, StringComparison.Ordinal);
    }
}
