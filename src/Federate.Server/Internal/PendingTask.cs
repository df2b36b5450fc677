using Federate.Core;
using Federate.Protocol;

namespace Federate.Server.Internal;

/// <summary>One instruction sent to one node and the state of its reply.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The CancellationTokenSource has no timer; it is cancelled at most once and needs no disposal, and uploads may still observe it after the round.")]
internal sealed class PendingTask
{
    private readonly Lock _lock = new();
    private readonly TaskCompletionSource<Arrival> _arrival = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _closed = new();
    private TaskState _state;

    public PendingTask(Message instruction, int order, bool streaming)
    {
        Instruction = instruction;
        Order = order;
        Streaming = streaming;
        Tensors = instruction.Content is { } c ? Mapping.FlattenArrays(c) : [];
    }

    public Message Instruction { get; private set; }

    public int Order { get; }

    /// <summary>True when the train reply is spooled and folded into a streaming aggregator.</summary>
    public bool Streaming { get; }

    public IReadOnlyList<(string Record, string Name, Tensor Tensor)> Tensors { get; private set; }

    /// <summary>
    /// Drops the references to the instruction's model once the round phase is over, so a task that something still
    /// holds (a late upload, a pooled request) never keeps an old global model alive.
    /// </summary>
    public void Forget()
    {
        Instruction = new Message(Instruction.Metadata, new RecordDict());
        Tensors = [];
    }

    public long NodeId => Instruction.Metadata.DestinationNodeId;

    public int Round => Instruction.Metadata.Round;

    public MessageType Kind => Instruction.Metadata.MessageType;

    public string MessageId => Instruction.Metadata.MessageId;

    public Task<Arrival> Arrived => _arrival.Task;

    /// <summary>Cancelled when the task is closed without a reply (timeout, node dropped, refused).</summary>
    public CancellationToken ClosedToken => _closed.Token;

    /// <summary>Holds one of the grid's spool slots (guarded by the grid's lock).</summary>
    public bool Admitted { get; set; }

    /// <summary>Holds one of the grid's reading slots while its upload is read (guarded by the grid's lock).</summary>
    public bool Reading { get; set; }

    /// <summary>Completed when a fold straight from incoming chunks has ended (committed or undone); null when none started.</summary>
    public TaskCompletionSource? DirectFold { get; set; }

    /// <summary>True while no reply has started to arrive and the task is open.</summary>
    public bool AwaitingReply
    {
        get
        {
            lock (_lock)
            {
                return _state == TaskState.Waiting;
            }
        }
    }

    public bool IsClosed
    {
        get
        {
            lock (_lock)
            {
                return _state == TaskState.Closed;
            }
        }
    }

    /// <summary>Claims the reply slot for an upload; false when a reply is already arriving or the task is over.</summary>
    public bool TryBeginReceive(out string problem)
    {
        lock (_lock)
        {
            switch (_state)
            {
                case TaskState.Waiting:
                    _state = TaskState.Receiving;
                    problem = "";
                    return true;
                case TaskState.Receiving or TaskState.Received:
                    problem = $"a reply to task {MessageId} was already received";
                    return false;
                default:
                    problem = $"round {Round} is finished";
                    return false;
            }
        }
    }

    /// <summary>Records the reply; false (and the spool disposed) when the task was closed meanwhile.</summary>
    public bool Complete(Arrival arrival)
    {
        lock (_lock)
        {
            if (_state != TaskState.Receiving)
            {
                arrival.Spool?.Dispose();
                return false;
            }

            _state = TaskState.Received;
        }

        _arrival.TrySetResult(arrival);
        return true;
    }

    /// <summary>Settles the task with an error reply unless a reply was already received.</summary>
    public bool Fail(string code, string reason)
    {
        lock (_lock)
        {
            if (_state is TaskState.Received or TaskState.Closed)
            {
                return false;
            }

            _state = TaskState.Closed;
        }

        _arrival.TrySetResult(new Arrival(Instruction.CreateErrorReply(new MessageError(code, reason)), null));
        _closed.Cancel();
        return true;
    }

    /// <summary>Closes the task after its round phase ended; later submissions are refused.</summary>
    public void Close(string reason)
    {
        Fail("timeout", reason);
        lock (_lock)
        {
            _state = TaskState.Closed;
        }
    }

    private enum TaskState
    {
        Waiting,
        Receiving,
        Received,
        Closed,
    }
}
