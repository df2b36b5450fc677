using Federate.Core;
using Microsoft.Extensions.Logging;

namespace Federate.Server.Internal;

internal sealed record OutboundNotification(LifecycleNotification Notification) : Outbound;
