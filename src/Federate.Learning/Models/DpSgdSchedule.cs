namespace Federate.Learning.Models;

/// <summary>The sampling schedule of DP-SGD, shared by the trainer and the privacy accounting.</summary>
public static class DpSgdSchedule
{
    /// <summary>Steps per epoch: ceil(n / batch), as many as plain SGD takes.</summary>
    public static int StepsPerEpoch(int examples, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(examples, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        return (int)(((long)examples + batchSize - 1) / batchSize);
    }

    /// <summary>The Poisson sample rate q = 1 / steps per epoch, so an epoch sees every example once in expectation.</summary>
    public static double SampleRate(int examples, int batchSize) => 1.0 / StepsPerEpoch(examples, batchSize);

    /// <summary>Steps of local training: epochs × steps per epoch.</summary>
    public static int Steps(int examples, int batchSize, int epochs) => checked(epochs * StepsPerEpoch(examples, batchSize));
}
