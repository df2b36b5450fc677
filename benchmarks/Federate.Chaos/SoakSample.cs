namespace Federate.Chaos;

/// <summary>The server process after a round, from <c>/proc/PID/status</c> and <c>/proc/PID/fd</c>.</summary>
/// <param name="Round">The round just completed.</param>
/// <param name="Seconds">Seconds since the server started.</param>
/// <param name="RssMiB">Resident memory (VmRSS).</param>
/// <param name="PeakRssMiB">Peak resident memory so far (VmHWM).</param>
/// <param name="Threads">Threads of the process.</param>
/// <param name="Handles">Open file descriptors (files, sockets, pipes).</param>
/// <param name="Connected">Clients connected, from the server's last join/leave line.</param>
public sealed record SoakSample(int Round, double Seconds, double RssMiB, double PeakRssMiB, int Threads, int Handles, int Connected);
