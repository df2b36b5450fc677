using Federate.Client;
using Federate.Core;
using Federate.Learning;
using Microsoft.Extensions.Logging;

namespace Federate.Cli.Commands;

internal static partial class CliLog
{
    [LoggerMessage(1, LogLevel.Information, "notification {Type} training_uuid={TrainingUuid} body={Body}")]
    public static partial void Notification(ILogger logger, string type, string trainingUuid, string body);
}
