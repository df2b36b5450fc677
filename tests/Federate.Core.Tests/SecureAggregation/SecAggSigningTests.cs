using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Federate.Core.SecureAggregation;
using Federate.Core.SecureAggregation.Internal;

namespace Federate.Core.Tests.SecureAggregation;

/// <summary>With signers (startup kits in deployment), a server that swaps or fabricates keys is refused.</summary>
public class SecAggSigningTests
{
    private static readonly TimeSpan TestTimeout = TimeSpan.FromSeconds(60);

    /// <summary>"Certificates" are ECDSA public keys, the "CA" the set of enrolled ones.</summary>
    private sealed class TestSigner(ECDsa key, HashSet<string> enrolled) : ISecAggSigner
    {
        public byte[] Certificate { get; } = key.ExportSubjectPublicKeyInfo();

        public byte[] Sign(byte[] transcript) => key.SignData(transcript, HashAlgorithmName.SHA256);

        public string? Verify(byte[] certificate, byte[] transcript, byte[] signature)
        {
            if (!enrolled.Contains(Convert.ToHexString(certificate)))
            {
                return "not enrolled";
            }

            using var peer = ECDsa.Create();
            peer.ImportSubjectPublicKeyInfo(certificate, out _);
            return peer.VerifyData(transcript, signature, HashAlgorithmName.SHA256) ? null : "bad signature";
        }
    }

    private sealed class StepClient : FederatedClient
    {
        public override ArrayRecord GetParameters(ConfigRecord config) => new();

        public override FitResult Fit(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) =>
            new(new ArrayRecord { { "w", Tensor.FromArray(parameters["w"].AsSpan<float>().ToArray().Select(v => v + 1).ToArray(), 4) } }, 10, new MetricRecord());

        public override EvaluateResult Evaluate(ArrayRecord parameters, ConfigRecord config, CancellationToken cancellationToken) => new(0, 1, new MetricRecord());
    }

    private readonly HashSet<string> _enrolled = [];

    private TestSigner Enrol()
    {
        var signer = new TestSigner(ECDsa.Create(ECCurve.NamedCurves.nistP256), _enrolled);
        _enrolled.Add(Convert.ToHexString(signer.Certificate));
        return signer;
    }

    private async Task<RunResult> RunAsync(int n, Func<Message, Message>? tamper = null)
    {
        var apps = new Dictionary<long, IClientApp>();
        for (long node = 1; node <= n; node++)
        {
            apps[node] = new StepClient().ToClientApp(new SecAggPlusClient(Enrol()).Mod);
        }

        var options = new RunOptions { Rounds = 1, RunId = "signed" };
        SecAggPlusWorkflow.Apply(options, new SecAggPlusSettings());
        return await new RunDriver(new Grid(apps, tamper), new FedAvg(), options).RunAsync(new ArrayRecord { { "w", Tensor.FromArray(new float[4], 4) } }).WaitAsync(TestTimeout);
    }

    [Fact]
    public async Task RunAsync_SignedKeys_Aggregate()
    {
        var result = await RunAsync(6);

        Assert.Equal(6, Assert.Single(result.History.Rounds).Results);
        Assert.Equal([1f, 1, 1, 1], result.Parameters["w"].AsSpan<float>().ToArray());
    }

    [Fact]
    public async Task RunAsync_ServerSwapsANeighboursKey_ClientRefuses()
    {
        using var fake = KeyAgreement.Create();
        var result = await RunAsync(6, m =>
        {
            if (Stage(m) == SecAggNames.ShareKeys && m.Metadata.DestinationNodeId == 2)
            {
                KeyAgreement.ExportPublic(fake).CopyTo(m.Content!.Configs[SecAggNames.Record][SecAggNames.MaskKey].AsBytes(), 0);
            }

            return m;
        });

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures);
        Assert.Equal((2L, SecAggNames.ShareKeys, "secagg_refused"), (failure.NodeId, failure.Phase, failure.Code));
        Assert.Matches("^the public keys of node \\d+ are not signed by an enrolled client: bad signature$", failure.Reason);
    }

    [Fact]
    public async Task RunAsync_ServerSignsTwoFakeNeighboursWithOneEnrolledKey_ClientRefuses()
    {
        // The server controls one enrolled client (mallory) and makes up two neighbours of node 1 with it.
        var mallory = Enrol();
        var result = await RunAsync(6, m =>
        {
            if (Stage(m) == SecAggNames.ShareKeys && m.Metadata.DestinationNodeId == 1)
            {
                var config = m.Content!.Configs[SecAggNames.Record];
                var nodes = m.Content.Arrays[SecAggNames.Record][SecAggNames.Nodes].AsSpan<long>().ToArray();
                var cipher = config[SecAggNames.CipherKey].AsBytes();
                var mask = config[SecAggNames.MaskKey].AsBytes();
                var certificates = SignedKeys.Unpack(config[SecAggNames.Certificate].AsBytes(), nodes.Length)!;
                var signatures = SignedKeys.Unpack(config[SecAggNames.Signature].AsBytes(), nodes.Length)!;
                for (int i = 0; i < 2; i++)
                {
                    using var c = KeyAgreement.Create();
                    using var k = KeyAgreement.Create();
                    var (pc, pm) = (KeyAgreement.ExportPublic(c), KeyAgreement.ExportPublic(k));
                    pc.CopyTo(cipher, i * 64);
                    pm.CopyTo(mask, i * 64);
                    certificates[i] = mallory.Certificate;
                    signatures[i] = mallory.Sign(SignedKeys.Transcript("signed", 1, nodes[i], pc, pm));
                }

                config[SecAggNames.Certificate] = SignedKeys.Pack(certificates);
                config[SecAggNames.Signature] = SignedKeys.Pack(signatures);
            }

            return m;
        });

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures);
        Assert.Equal((1L, "secagg_refused"), (failure.NodeId, failure.Code));
        Assert.Matches("^the public keys of node \\d+ are signed by a client that signs another node's keys too$", failure.Reason);
    }

    [Fact]
    public async Task RunAsync_ServerDropsTheSignatures_ClientRefuses()
    {
        var result = await RunAsync(6, m =>
        {
            if (Stage(m) == SecAggNames.ShareKeys && m.Metadata.DestinationNodeId == 4)
            {
                var config = m.Content!.Configs[SecAggNames.Record];
                m.Content.Configs[SecAggNames.Record] = new ConfigRecord(config.Where(kv => kv.Key is not (SecAggNames.Certificate or SecAggNames.Signature)));
            }

            return m;
        });

        var failure = Assert.Single(Assert.Single(result.History.Rounds).Failures);
        Assert.Equal((4L, "the neighbours' public keys come without their certificates and signatures"), (failure.NodeId, failure.Reason));
    }

    private static string? Stage(Message m) =>
        m.Content?.Configs.TryGetValue(SecAggNames.Record, out var c) == true && c.TryGetValue(SecAggNames.Stage, out var s) ? s.AsString() : null;

    private sealed class Grid(IReadOnlyDictionary<long, IClientApp> apps, Func<Message, Message>? tamper) : IGrid
    {
        public ValueTask<IReadOnlyList<NodeInfo>> WaitForNodesAsync(int minimum, CancellationToken cancellationToken) =>
            ValueTask.FromResult<IReadOnlyList<NodeInfo>>([.. apps.Keys.Order().Select(id => new NodeInfo(id, $"n{id}"))]);

        public async IAsyncEnumerable<Message> SendAndReceiveAsync(IReadOnlyList<Message> instructions, TimeSpan timeout, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            foreach (var m in instructions)
            {
                yield return await apps[m.Metadata.DestinationNodeId].HandleAsync(tamper?.Invoke(m) ?? m, cancellationToken);
            }
        }
    }
}
