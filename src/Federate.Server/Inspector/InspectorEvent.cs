using System.Text.Json.Nodes;
using System.Threading.Channels;
using Federate.Core;
using Federate.Server.Internal;

namespace Federate.Server.Inspector;

/// <summary>An entry of the inspector's event feed.</summary>
internal sealed record InspectorEvent(long Id, DateTimeOffset At, string RunId, string Kind, string Detail);
