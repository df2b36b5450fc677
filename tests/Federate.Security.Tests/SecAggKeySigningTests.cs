namespace Federate.Security.Tests;

/// <summary>Secure-aggregation keys signed with a client kit, checked against the project CA by another client.</summary>
public sealed class SecAggKeySigningTests(ProjectFixture project) : IClassFixture<ProjectFixture>
{
    private static readonly byte[] Transcript = [.. "federate-secagg-keys-v1 run 1 node 7 keys"u8];

    [Fact]
    public void VerifySecAggKeys_SignedByAnEnrolledClient_Accepted()
    {
        using var a = new ClientIdentity(project.Kit(project.Demo, "a"));
        using var b = new ClientIdentity(project.Kit(project.Demo, "b"));

        Assert.Null(b.VerifySecAggKeys(a.CertificateDer, Transcript, a.SignSecAggKeys(Transcript), DateTimeOffset.UtcNow));
    }

    [Fact]
    public void VerifySecAggKeys_OtherKeysOrOtherProject_Refused()
    {
        using var a = new ClientIdentity(project.Kit(project.Demo, "a"));
        using var b = new ClientIdentity(project.Kit(project.Demo, "b"));
        using var rival = new ClientIdentity(project.Kit(project.Other, "a"));
        byte[] other = [.. Transcript, 1];

        Assert.Equal("the signature does not match the keys", b.VerifySecAggKeys(a.CertificateDer, other, a.SignSecAggKeys(Transcript), DateTimeOffset.UtcNow));
        Assert.NotNull(b.VerifySecAggKeys(rival.CertificateDer, Transcript, rival.SignSecAggKeys(Transcript), DateTimeOffset.UtcNow));
        Assert.Equal("the certificate is for the role 'admin', not a client", b.VerifySecAggKeys(project.Kit(project.Demo, "x").Certificate.RawData, Transcript, a.SignSecAggKeys(Transcript), DateTimeOffset.UtcNow));
        Assert.Equal("the certificate is not a certificate", b.VerifySecAggKeys([1, 2, 3], Transcript, a.SignSecAggKeys(Transcript), DateTimeOffset.UtcNow));
    }
}
