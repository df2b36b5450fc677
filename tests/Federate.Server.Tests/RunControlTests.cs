using Federate.Core;
using Federate.Server;

namespace Federate.Server.Tests;

public sealed class RunControlTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task BeforeRoundAsync_Manual_WaitsForOneRequestPerRound()
    {
        var control = new RunControl(manual: true);
        control.BeginRun();
        var gate = control.BeforeRoundAsync(1, CancellationToken.None).AsTask();
        Assert.False(gate.IsCompleted);
        Assert.Equal(1, control.State.WaitingForRound);

        Assert.Null(control.RequestRound());
        Assert.Null(await gate.WaitAsync(Timeout));
        Assert.Null(control.State.WaitingForRound);
        Assert.Equal("a round is already in progress; wait until it completes", control.RequestRound());

        var next = control.BeforeRoundAsync(2, CancellationToken.None).AsTask();
        Assert.False(next.IsCompleted);
        Assert.Equal(2, control.State.WaitingForRound);
        Assert.Null(control.RequestStart());
        Assert.Null(await next.WaitAsync(Timeout));
        Assert.Null(await control.BeforeRoundAsync(3, CancellationToken.None).AsTask().WaitAsync(Timeout)); // started: no more waiting
        Assert.Equal("the run is already running", control.RequestStart());
    }

    [Fact]
    public async Task RequestRound_BeforeTheGateIsReached_LetsThatRoundStart()
    {
        var control = new RunControl(manual: true);
        control.BeginRun();
        Assert.Null(control.RequestRound(out int round));
        Assert.Equal(1, round);
        Assert.Equal("a round is already in progress; wait until it completes", control.RequestRound());
        Assert.Null(await control.BeforeRoundAsync(1, CancellationToken.None).AsTask().WaitAsync(Timeout));
        var second = control.BeforeRoundAsync(2, CancellationToken.None).AsTask();
        Assert.False(second.IsCompleted);
        Assert.Null(control.RequestRound(out round));
        Assert.Equal(2, round);
        Assert.Null(await second.WaitAsync(Timeout));
    }

    [Fact]
    public async Task RequestStop_WhileWaiting_GateReturnsOperatorStop()
    {
        var control = new RunControl(manual: true);
        control.BeginRun();
        var gate = control.BeforeRoundAsync(4, CancellationToken.None).AsTask();
        Assert.Null(control.RequestStop("alice"));
        var veto = await gate.WaitAsync(Timeout);
        Assert.Equal((StopReasons.OperatorStop, "stopped by alice through the inspector"), veto);
        Assert.Equal("the run is already stopping", control.RequestStop("bob"));
        Assert.Equal("the run is stopping; reset to start a new run", control.RequestRound());
        control.EndRun();
        Assert.Equal("no run is in progress", control.RequestStop("bob"));
    }

    [Fact]
    public async Task RequestReset_EndsTheRunAndBeginRunForgetsIt()
    {
        var control = new RunControl(manual: false);
        control.BeginRun();
        Assert.Null(await control.BeforeRoundAsync(1, CancellationToken.None).AsTask().WaitAsync(Timeout)); // automatic: no wait
        Assert.Equal("rounds start automatically on this server; start it with --manual to start each round by hand", control.RequestRound());

        control.RequestReset("admin");
        Assert.True(control.ResetRequested);
        Assert.Equal((StopReasons.OperatorStop, "reset by admin through the inspector"), await control.BeforeRoundAsync(2, CancellationToken.None).AsTask().WaitAsync(Timeout));
        control.EndRun();
        await control.WaitForResetAsync(CancellationToken.None).WaitAsync(Timeout);

        control.BeginRun();
        Assert.False(control.ResetRequested);
        Assert.Null(await control.BeforeRoundAsync(1, CancellationToken.None).AsTask().WaitAsync(Timeout));
    }

    [Fact]
    public async Task BeforeRoundAsync_Cancelled_Throws()
    {
        var control = new RunControl(manual: true);
        control.BeginRun();
        using var cts = new CancellationTokenSource();
        var gate = control.BeforeRoundAsync(1, cts.Token).AsTask();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gate.WaitAsync(Timeout));
    }
}
