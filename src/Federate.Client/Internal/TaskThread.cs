using System.Collections.Concurrent;

namespace Federate.Client.Internal;

/// <summary>
/// One long-lived background thread that runs a client's tasks one after another. Training is CPU-bound, so it runs
/// off the thread pool (heartbeats keep flowing); a thread of its own started for every task cost a thread's creation
/// and start-up per task, about a tenth of the CPU of a process serving 100 virtual clients with a small model.
/// </summary>
internal sealed class TaskThread : IDisposable
{
    private readonly BlockingCollection<Action> _work = [];
    private readonly Lock _lock = new();
    private Thread? _thread;

    /// <summary>Runs <paramref name="body"/> on the thread after the work queued before it; canceled if the token is before it starts.</summary>
    public Task<T> RunAsync<T>(Func<T> body, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_work.IsAddingCompleted, this);
            if (_thread is null)
            {
                _thread = new Thread(Serve) { IsBackground = true, Name = "federate-client-task" };
                _thread.Start();
            }

            _work.Add(() =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                    return;
                }

                try
                {
                    done.TrySetResult(body());
                }
                catch (OperationCanceledException ex) when (ex.CancellationToken == cancellationToken || cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);
                }
            }, CancellationToken.None);
        }

        return done.Task;
    }

    private void Serve()
    {
        foreach (var work in _work.GetConsumingEnumerable())
        {
            work();
        }
    }

    /// <summary>Lets the thread finish the work queued and end.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            _work.CompleteAdding();
        }
    }
}
