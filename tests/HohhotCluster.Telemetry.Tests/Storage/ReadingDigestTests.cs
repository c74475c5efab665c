using System.Security.Cryptography;
using System.Text;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Tests.Storage;

public sealed class ReadingDigestTests
{
    [Fact]
    public void Digest_is_the_first_eight_bytes_of_sha256_and_formats_as_its_first_sixteen_hex_digits()
    {
        var payload = Encoding.UTF8.GetBytes("abc");
        Assert.Equal("ba7816bf8f01cfea", ReadingDigestStore.Format(ReadingDigestStore.DigestOf(payload)));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(payload))[..16], ReadingDigestStore.Format(ReadingDigestStore.DigestOf(payload)));
    }

    [Fact]
    public void A_negative_digest_formats_as_sixteen_digits()
    {
        Assert.Equal("ffffffffffffffff", ReadingDigestStore.Format(-1));
        Assert.Equal("0000000000000001", ReadingDigestStore.Format(1));
    }

    [Fact]
    public void Bodies_differing_in_one_byte_have_different_digests()
    {
        Assert.NotEqual(ReadingDigestStore.DigestOf("{\"seq\":1}"u8), ReadingDigestStore.DigestOf("{\"seq\":2}"u8));
    }
}
