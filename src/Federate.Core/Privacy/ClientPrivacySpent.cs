namespace Federate.Core.Privacy;

/// <summary>What a client has spent, after a round.</summary>
/// <param name="Epsilon">Cumulative sample-level epsilon over every round this client trained.</param>
/// <param name="RoundEpsilon">Sample-level epsilon of the last round's training alone.</param>
/// <param name="UserEpsilon">Cumulative client-level (whole local dataset) epsilon implied by DP-SGD alone.</param>
public readonly record struct ClientPrivacySpent(double Epsilon, double RoundEpsilon, double UserEpsilon);
