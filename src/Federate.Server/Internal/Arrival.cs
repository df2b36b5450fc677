using Federate.Core;

namespace Federate.Server.Internal;

/// <summary>
/// What arrived for a task: a reply message; for streamed train updates the spool holding its tensors, and, when the
/// update was folded straight from its chunks as they arrived, the fold to commit.
/// </summary>
internal sealed record Arrival(Message Reply, SpoolFile? Spool, IUpdateFold? Folded = null);
